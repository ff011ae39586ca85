// The quantization family's one entry point for post-training quantization: a Spec (what the
// CLI's flags and the recipe's YAML both translate into), run(graph, data, spec), and a Report.
// It runs, as asked, the per-layer sensitivity (the shared protocol, compress/common/
// sensitivity.h), the mixed-precision choice from it under a budget (the shared solver,
// compress/common/budget.h), then PTQ of the whole model calibrated on the training set.
// Quantization-aware training has its own entry point, qat.h (run_qat).
#pragma once
#include <optional>

#include "leancnn/compress/common/sensitivity.h"
#include "leancnn/compress/quantize/mixed_precision.h"
#include "leancnn/compress/quantize/ptq.h"
#include "leancnn/compress/quantize/sensitivity.h"
#include "leancnn/ir/graph.h"
#include "leancnn/train/calibration_data.h"
#include "leancnn/train/dataset.h"

namespace leancnn::compress::quantize {

// How a mixed-precision budget is given: a value in the solver's unit, or a ratio of a reference
// (fp32 weight bytes of the quantizable layers; MACs x 8 bits for all-8-bit).
enum class BudgetForm { none, bytes, bytes_ratio_of_fp32, mac_bits_ratio_of_8bit };

struct Spec {
  PtqOptions ptq;                      // the quantization of the final model (and of every probe)
  // What the final model is calibrated on (default: the training set given to run); ptq's
  // calib_images of it. The sensitivity and the budget need labelled images: the dataset only.
  train::CalibrationData calibration;
  bool sensitivity = false;            // measure the per-layer table (implied by a budget)
  int sensitivity_baseline_bits = 8;   // every layer's bits in the table's baseline (0: float)
  int sensitivity_probe_bits = 4;      // the probed layer's bits
  SensitivityProtocol protocol;        // held-out training images and their seed
  BudgetForm budget_form = BudgetForm::none;  // mixed precision (8 or 4 bits per layer) when set
  double budget = 0;
};

struct Report {
  PtqResult ptq;                                   // graph, per-layer report, sizes
  std::string calibration;                         // what it was calibrated on (CalibrationData::describe)
  int64_t calibration_images = 0;                  // inputs the calibration saw (0: none needed)
  bool synthetic_calibration = false;              // random inputs: the model is for speed measurements only
  std::optional<SensitivityResult> sensitivity;    // when measured
  int64_t sensitivity_images = 0;                  // held-out images it was measured on
  int sensitivity_baseline_bits = 0, sensitivity_probe_bits = 0;  // the table's configuration
  std::optional<MixedPrecisionResult> mixed;       // when a budget was given
  MixedPrecisionOptions mixed_options;             // the resolved budget (kind, value)
};

// `train_set` gives calibration images (spec.calibration of kind dataset) and, for the
// sensitivity, the held-out ones; it may be empty for other calibration data. Error(usage) on an
// inconsistent Spec (a budget with log weights, sensitivity bits out of range, a sensitivity or
// budget without the dataset's calibration, ...); Error(bad_input) on calibration data that does
// not fit the model (naming the file or dataset and the fix).
Report run(const ir::Graph& float_graph, const train::Dataset& train_set, const Spec& spec);

}  // namespace leancnn::compress::quantize
