// SCALE-Sim v2 timing: folds, per-fold skewed fill/drain, mapping and compute utilisation.
#include "leancnn/accel/systolic.h"

#include <algorithm>

#include "leancnn/core/error.h"

namespace leancnn::accel {

SystolicTiming systolic_timing(const Problem& p, int64_t rows, int64_t cols, Dataflow dataflow) {
  if (rows < 1 || cols < 1) fail(ErrorKind::bad_input, "systolic array must be at least 1x1, got ", rows, "x", cols);
  const int64_t window = p.dim(Dim::C) * p.dim(Dim::R) * p.dim(Dim::S);
  const int64_t pixels = p.dim(Dim::N) * p.dim(Dim::P) * p.dim(Dim::Q);
  const int64_t filters = p.dim(Dim::M);
  int64_t sr = window, sc = filters, t = pixels;
  if (dataflow == Dataflow::is) {
    sc = pixels;
    t = filters;
  } else if (dataflow == Dataflow::os) {
    sr = pixels;
    t = window;
  }
  const bool os = dataflow == Dataflow::os;
  const int64_t row_folds = (sr + rows - 1) / rows;
  const int64_t col_folds = (sc + cols - 1) / cols;
  // Rows of the demand matrices per fold (what the memory system steps through).
  const int64_t per_fold = os ? rows + cols + t - 2 : 2 * rows + cols + t - 2;
  // The span SCALE-Sim divides by for its per-fold compute utilisation.
  const int64_t util_span = os ? rows + cols + t - 2 : 2 * rows + 2 * cols + t - 3;
  SystolicTiming r;
  const int64_t groups = p.dim(Dim::G);
  r.folds = row_folds * col_folds * groups;
  r.cycles = r.folds * per_fold - 1;
  double map_eff = 0, util = 0;
  for (int64_t fr = 0; fr < row_folds; ++fr) {
    const int64_t rows_used = std::min(rows, sr - fr * rows);
    for (int64_t fc = 0; fc < col_folds; ++fc) {
      const int64_t cols_used = std::min(cols, sc - fc * cols);
      const double used = static_cast<double>(rows_used * cols_used);
      map_eff += used / static_cast<double>(rows * cols);
      util += used * static_cast<double>(t) / (static_cast<double>(rows * cols) * static_cast<double>(util_span));
    }
  }
  const double n = static_cast<double>(row_folds * col_folds);
  r.mapping_efficiency = map_eff / n;
  r.compute_utilization = util / n;
  r.overall_utilization = static_cast<double>(p.macs()) / (static_cast<double>(r.cycles) * static_cast<double>(rows * cols));
  return r;
}

}  // namespace leancnn::accel
