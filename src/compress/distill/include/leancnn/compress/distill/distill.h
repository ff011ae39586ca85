// The distillation family's one entry point (docs/distillation.md): a Spec (what `leancnn
// distill`'s flags, the recipe's distill step and a train/finetune step's `distill:` key all
// translate into), run(student, data, spec) and a Report. Every method is a set of loss hooks
// on the trainer (train::LossHook, hooks.h): the trainer's executor differentiates the added
// loss, and the teacher's forward runs on the compiled runtime plan (teacher.h).
//   kd         Hinton et al. 2015: (1 - alpha) CE + alpha T^2 KL(p_t^T || p_s^T), teacher = an ONNX file
//              (or several: their mean logits).
//   fitnets    Romero et al. 2015: + beta MSE(regressor(student feature), teacher feature), a learned
//              1x1 Conv regressor per chosen layer pair; plus the kd term when alpha > 0.
//   attention  Zagoruyko & Komodakis 2017: + beta/2 sum over pairs of MSE of normalised attention maps
//              (ai.leancnn AttentionMap); plus the kd term when alpha > 0.
//   dml        Zhang et al. 2018: `peers` students of the same architecture train together, each
//              with CE + alpha T^2 KL(other peers' mean || self); no pretrained teacher.
//   kdcl       Guo et al. 2020: as dml, but every peer learns from the ensemble (mean logits of all
//              peers, itself included, not differentiated).
//   self_best  the best past epoch's model (by test accuracy) is the teacher of the next epochs.
//   self_aux   Zhang et al. 2019 (BYOT): auxiliary classifiers (GAP + FC) on chosen layers learn
//              from the labels and from the final classifier (the self-teacher); their gradients
//              shape the shared layers; they are dropped after training.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "leancnn/ir/graph.h"
#include "leancnn/train/dataset.h"
#include "leancnn/train/trainer.h"

namespace leancnn::compress::distill {

enum class Method { kd, fitnets, attention, dml, kdcl, self_best, self_aux };
// "kd" | "fitnets" | "attention" | "dml" | "kdcl" | "self_best" | "self_aux"; Error(usage) otherwise.
Method parse_method(const std::string& name);
const char* method_name(Method m);
bool needs_teacher(Method m);  // kd, fitnets, attention
bool is_online(Method m);      // dml, kdcl: they train peers together (not a hook on one model)

// A student value and the teacher value it is matched to (fitnets, attention), by value name;
// self_aux uses only `student` (a layer that gets an auxiliary classifier).
struct LayerPair {
  std::string student, teacher;
};
// "s:t" -> {s, t}; "s" -> {s, ""}. Error(usage) on an empty side.
LayerPair parse_layer_pair(const std::string& text);

struct Spec {
  Method method = Method::kd;
  std::vector<std::string> teachers;  // ONNX files (kd, fitnets, attention); several: mean logits
  // 0 / -1 / 0: the method's default (docs/distillation.md: kd T 4, alpha 0.9; fitnets beta 10;
  // attention beta 1000; dml T 1, alpha 0.5; kdcl T 2, alpha 0.5; self_best T 4, alpha 0.5;
  // self_aux T 3, alpha 0.3).
  float temperature = 0;              // T of the soft loss (> 0)
  float alpha = -1;                   // weight of the soft loss; the hard loss gets 1 - alpha ([0, 1])
  float beta = 0;                     // weight of the feature term (fitnets, attention)
  std::vector<LayerPair> layers;      // fitnets / attention pairs; self_aux layers (empty: every stage's last value)
  int peers = 2;                      // dml / kdcl: students trained together (>= 2)
  bool scratch_baseline = false;      // also train the student from scratch with the same settings
  bool evaluate_teacher = true;       // measure the teacher's test accuracy (kd, fitnets, attention)
  bool reinit_student = true;         // dml / kdcl peers after the first: fresh weights (seed + i); false: copies
  train::TrainOptions train;          // epochs, optimizer, ... of the distillation (and of the baseline)
  std::function<void(const std::string&)> log;  // progress lines (may be empty)
};

// Error(usage) naming the field when the Spec is inconsistent (checked before any work).
void validate(const Spec& spec);

// The loss hooks of a single-model method (kd, fitnets, attention, self_best, self_aux) for
// training `student` with any trainer call: what a train/finetune step's `distill:` key and
// the prune / decompose / qat fine-tuning use. Teachers are loaded and compiled here, and
// checked against the student (input shape, classes, layer names and shapes): Error(bad_input)
// naming the file and value before training starts. Error(usage) for dml / kdcl.
std::vector<train::LossHook> make_hooks(const ir::Graph& student, const Spec& spec);

struct ModelResult {
  std::string name;        // "teacher", "scratch", "distilled", "peer 2", ...
  std::string file;        // the teacher's file ("" for trained models)
  double test_acc = 0;     // final epoch (teachers: measured)
  double best_test_acc = 0;
  int64_t params = 0;
  int64_t macs = 0;        // per image
  train::TrainResult training;  // empty for teachers
};

struct Report {
  ir::Graph graph;                       // the distilled student (dml / kdcl: the first peer)
  std::vector<ir::Graph> peers;          // dml / kdcl: every peer, the first included
  std::vector<ModelResult> teachers;     // measured when evaluate_teacher
  std::optional<ModelResult> scratch;    // when scratch_baseline
  ModelResult distilled;                 // dml / kdcl: the first peer
  std::vector<ModelResult> peer_results; // dml / kdcl: every peer
  bool interrupted = false;
  // Distilled minus scratch test accuracy (final epoch), when the baseline ran.
  std::optional<double> gain() const;
};

// Trains `student` (a float model with one input and one logits output) by the Spec's method.
// Checkpoints go to spec.train.out_dir ("/distill", "/scratch" below it), so a rerun resumes.
Report run(const ir::Graph& student, const train::Dataset& train_set, const train::Dataset& test_set, const Spec& spec);

}  // namespace leancnn::compress::distill
