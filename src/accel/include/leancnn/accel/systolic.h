// Systolic-array timing with fill and drain skew, as SCALE-Sim v2 computes it (Samajdar et
// al., ISPASS 2020): the layer becomes an operand-matrix product folded onto rows × cols PEs.
#pragma once
#include <cstdint>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

struct SystolicTiming {
  int64_t cycles = 0;             // with no memory stalls
  int64_t folds = 0;              // row folds × column folds (× groups)
  double mapping_efficiency = 0;  // mean over folds of the PEs holding an operand
  double compute_utilization = 0; // SCALE-Sim's "compute util": mean over folds of busy PE-cycles
  double overall_utilization = 0; // MACs / (cycles × rows × cols): SCALE-Sim's "overall util"
};

// SCALE-Sim v2's operand matrices: window = C·R·S, pixels = N·P·Q, filters = M; each group is
// a separate product. With Sr the dimension on the rows, Sc on the columns and T streamed:
//   ws: Sr = window, Sc = filters, T = pixels; cycles per fold 2·rows + cols + T − 2
//   is: Sr = window, Sc = pixels,  T = filters; cycles per fold 2·rows + cols + T − 2
//   os: Sr = pixels, Sc = filters, T = window;  cycles per fold rows + cols + T − 2
// folds = ceil(Sr / rows)·ceil(Sc / cols); total = folds·per_fold − 1 (SCALE-Sim reports the
// cycle of the last output write). Row-stationary has no systolic form: treated as ws.
SystolicTiming systolic_timing(const Problem& p, int64_t rows, int64_t cols, Dataflow dataflow);

}  // namespace leancnn::accel
