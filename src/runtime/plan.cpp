// The inference plan: rewritten graph, per-shape kernel selection and preparation, and one
// arena of activations placed by liveness.
#include "leancnn/runtime/plan.h"

#include <chrono>
#include <map>

#include "leancnn/core/cpu.h"
#include "leancnn/core/error.h"
#include "leancnn/core/log.h"
#include "leancnn/ir/passes.h"
#include "leancnn/kernels/kernel.h"
#include "leancnn/ops/op_table.h"
#include "leancnn/runtime/inference_passes.h"
#include "leancnn/runtime/memory_plan.h"

namespace leancnn::runtime {

namespace {

// Bytes a contiguous tensor of this shape and dtype occupies (Tensor::nbytes without one).
int64_t bytes_of(const Shape& shape, DType dtype) {
  if (dtype != DType::b1) return shape_numel(shape) * static_cast<int64_t>(dtype_size(dtype));
  if (shape.empty()) return 8;
  const int64_t cols = shape.back();
  if (cols == 0) return 0;
  return shape_numel(shape) / cols * ((cols + 63) / 64) * 8;
}

// One node ready to run: its kernel and a context whose tensors are arena views (graph
// inputs are bound on each run), kept from run to run.
struct Step {
  explicit Step(const ir::Node& n) : ctx{n, {}, {}} {}
  const kernels::Kernel* kernel = nullptr;
  ir::ForwardCtx ctx;
  std::shared_ptr<const void> prepared;
};

// Kernel::prepare packs a node's constant inputs once, so the plan prepares only nodes whose
// weight slots hold initializers (or nothing): the schema's learnable-parameter slots, or for an
// inference-only op that lists none (FusedConv), slots 1 and 2 as in Conv and Gemm. A conv whose
// weights are computed at run time runs unprepared.
bool weights_are_constant(const ir::Graph& g, const ir::Node& n, const ir::OpSchema& schema) {
  const std::vector<int> slots = schema.trainable_inputs.empty() ? std::vector<int>{1, 2} : schema.trainable_inputs;
  for (int slot : slots)
    if (slot < static_cast<int>(n.inputs.size()) && n.inputs[slot] != ir::kNone &&
        !g.value(n.inputs[slot]).is_initializer())
      return false;
  return true;
}

// Which activations to store channels-last, written into each step's ctx.channels_last; returns
// how many. A value qualifies when it is a 4-D f32 (or quantized u8/s8) activation with more than
// one pixel per plane (a 1x1 plane is the same bytes in both orders), not a graph output, and its
// producer and every consumer declare the slot (Kernel::channels_last). A kernel whose slots are
// tied needs them all in one layout: where they disagree, its values go back to NCHW, until
// nothing changes.
int place_channels_last(const ir::Graph& graph, const ir::Graph& shaped, const std::vector<ir::NodeId>& order,
                        std::vector<Step>& steps) {
  struct Use {
    size_t step;
    uint32_t bit;
  };
  const size_t num_values = graph.num_values();
  std::vector<std::vector<Use>> uses(num_values);  // producer first, then consumers
  std::vector<char> candidate(num_values, 0);
  std::vector<kernels::ChannelsLast> support(steps.size());
  for (size_t pos = 0; pos < steps.size(); ++pos)
    if (steps[pos].kernel->channels_last) support[pos] = steps[pos].kernel->channels_last(steps[pos].ctx);
  for (size_t pos = 0; pos < steps.size(); ++pos) {
    const ir::Node& n = graph.node(order[pos]);
    for (size_t j = 0; j < n.outputs.size(); ++j) {
      const ir::Value& v = shaped.value(n.outputs[j]);
      const uint32_t bit = ir::channels_last_output(static_cast<int>(j));
      uses[n.outputs[j]].push_back({pos, bit});
      const bool activation_type = v.dtype == DType::f32 || v.dtype == DType::u8 || v.dtype == DType::s8;
      candidate[n.outputs[j]] =
          (support[pos].slots & bit) && activation_type && v.shape.size() == 4 && v.shape[2] * v.shape[3] > 1;
    }
  }
  for (size_t pos = 0; pos < steps.size(); ++pos) {
    const ir::Node& n = graph.node(order[pos]);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const ir::ValueId v = n.inputs[i];
      if (v == ir::kNone || uses[v].empty()) continue;  // initializers and graph inputs stay NCHW
      const uint32_t bit = ir::channels_last_input(static_cast<int>(i));
      uses[v].push_back({pos, bit});
      if (!(support[pos].slots & bit)) candidate[v] = 0;
    }
  }
  for (ir::ValueId v : graph.outputs()) candidate[v] = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t pos = 0; pos < steps.size(); ++pos) {
      if (!support[pos].tied) continue;
      const ir::Node& n = graph.node(order[pos]);
      std::vector<ir::ValueId> slots;
      for (size_t i = 0; i < n.inputs.size(); ++i)
        if (n.inputs[i] != ir::kNone && (support[pos].slots & ir::channels_last_input(static_cast<int>(i))))
          slots.push_back(n.inputs[i]);
      for (size_t j = 0; j < n.outputs.size(); ++j)
        if (support[pos].slots & ir::channels_last_output(static_cast<int>(j))) slots.push_back(n.outputs[j]);
      bool any = false, all = true;
      for (ir::ValueId v : slots) {
        any = any || candidate[v];
        all = all && candidate[v];
      }
      if (any && !all)
        for (ir::ValueId v : slots)
          if (candidate[v]) {
            candidate[v] = 0;
            changed = true;
          }
    }
  }
  int placed = 0;
  for (size_t v = 0; v < num_values; ++v) {
    if (!candidate[v]) continue;
    ++placed;
    for (const Use& u : uses[v]) steps[u.step].ctx.channels_last |= u.bit;
  }
  return placed;
}

// Where a graph input is read: step, input slot, graph input index.
struct Binding {
  size_t step;
  size_t slot;
  size_t input;
};

// Everything that depends on the input shapes.
struct Variant {
  // The graph the steps run when it is not the plan's own (shapes at which the rule fuses inverted
  // residual blocks: the plan's graph with them fused), and its order. Declared before the steps,
  // whose nodes it holds.
  std::unique_ptr<ir::Graph> graph;
  std::vector<ir::NodeId> order;
  std::vector<Step> steps;
  std::vector<PlanStep> info;
  std::vector<Binding> bindings;
  PlanMemory memory;
  Tensor arena;
  // Per graph output: the tensor to copy out (an arena view or an initializer), or, when the
  // output is a graph input, that input's index.
  std::vector<Tensor> outputs;
  std::vector<int> output_input;  // -1 unless the graph output is a graph input
  int channels_last_values = 0;   // activations stored channels-last
};

}  // namespace

struct Plan::Impl {
  ir::Graph graph;
  PlanOptions options;
  const ir::OpTable* ops = nullptr;
  std::vector<ir::NodeId> order;
  std::map<std::vector<Shape>, std::unique_ptr<Variant>> variants;
  Variant* current = nullptr;
  bool profiling = false;
  std::vector<double> step_ms;

  void check_inputs(const std::vector<Tensor>& inputs) const;
  std::unique_ptr<Variant> build(const std::vector<Shape>& shapes) const;
};

void Plan::Impl::check_inputs(const std::vector<Tensor>& inputs) const {
  if (inputs.size() != graph.inputs().size())
    fail(ErrorKind::bad_input, "the plan takes ", graph.inputs().size(), " inputs, got ", inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::Value& v = graph.value(graph.inputs()[i]);
    const Tensor& t = inputs[i];
    bool ok = t.defined() && t.dtype() == v.dtype && t.rank() == static_cast<int>(v.shape.size());
    for (size_t d = 1; ok && d < v.shape.size(); ++d) ok = t.shape()[d] == v.shape[d];
    if (!ok)
      fail(ErrorKind::bad_input, "input '", v.name, "' expects ", dtype_name(v.dtype), " ", shape_str(v.shape),
           " (any batch size), got ",
           t.defined() ? str_cat(dtype_name(t.dtype()), " ", shape_str(t.shape())) : std::string("nothing"));
    if (!t.is_contiguous()) fail(ErrorKind::bad_input, "input '", v.name, "' must be contiguous");
  }
}

std::unique_ptr<Variant> Plan::Impl::build(const std::vector<Shape>& shapes) const {
  auto variant = std::make_unique<Variant>();
  // Shapes of every value at these input shapes.
  auto shaped_graph = std::make_unique<ir::Graph>(graph);
  for (size_t i = 0; i < shapes.size(); ++i) shaped_graph->value(graph.inputs()[i]).shape = shapes[i];
  ir::infer_shapes(*shaped_graph, *ops);
  // MobileNetV2's inverted residual blocks are fused where, at these shapes, the fused kernel runs
  // them faster (docs/fused_blocks.md); the variant then runs that graph (the pass leaves a graph
  // it does not rewrite untouched).
  const ir::Graph* gp = &graph;
  const std::vector<ir::NodeId>* op = &order;
  if (options.fuse && options.fuse_blocks && fuse_inverted_residuals(*shaped_graph, *ops) > 0) {
    ir::infer_shapes(*shaped_graph, *ops);
    ir::verify(*shaped_graph, *ops);
    variant->order = shaped_graph->topo_order();
    variant->graph = std::move(shaped_graph);
    gp = variant->graph.get();
    op = &variant->order;
  }
  const ir::Graph& shaped = variant->graph ? *variant->graph : *shaped_graph;
  const ir::Graph& g = *gp;
  const std::vector<ir::NodeId>& ord = *op;

  // Lifetimes of the values the steps produce (graph outputs live to the end).
  const int num_steps = static_cast<int>(ord.size());
  std::vector<int> lifetime_of(g.num_values(), -1);
  std::vector<ir::ValueId> placed;
  std::vector<Lifetime> lifetimes;
  for (int pos = 0; pos < num_steps; ++pos)
    for (ir::ValueId v : g.node(ord[pos]).outputs) {
      lifetime_of[v] = static_cast<int>(lifetimes.size());
      placed.push_back(v);
      lifetimes.push_back({bytes_of(shaped.value(v).shape, shaped.value(v).dtype), pos, pos});
    }
  for (int pos = 0; pos < num_steps; ++pos)
    for (ir::ValueId v : g.node(ord[pos]).inputs)
      if (v != ir::kNone && lifetime_of[v] >= 0) lifetimes[lifetime_of[v]].last = pos;
  for (ir::ValueId v : g.outputs())
    if (lifetime_of[v] >= 0) lifetimes[lifetime_of[v]].last = num_steps - 1;
  if (!options.reuse_memory)
    for (Lifetime& l : lifetimes) {
      l.first = 0;
      l.last = num_steps - 1;
    }
  const MemoryPlan mem = plan_memory(lifetimes);

  variant->memory = {mem.arena_bytes, mem.total_bytes, static_cast<int64_t>(lifetimes.size())};
  variant->arena = Tensor::empty({std::max<int64_t>(mem.arena_bytes, 1)}, DType::u8);
  std::vector<Tensor> views(g.num_values());
  for (size_t i = 0; i < placed.size(); ++i) {
    const ir::Value& v = shaped.value(placed[i]);
    views[placed[i]] = variant->arena.view_at(static_cast<size_t>(mem.offsets[i]), v.shape, v.dtype);
  }
  std::vector<int> input_index(g.num_values(), -1);
  for (size_t i = 0; i < g.inputs().size(); ++i) input_index[g.inputs()[i]] = static_cast<int>(i);

  // Steps: tensors bound, kernel selected once, prepared once.
  variant->steps.reserve(ord.size());
  for (int pos = 0; pos < num_steps; ++pos) {
    const ir::Node& n = g.node(ord[pos]);
    const ir::OpSchema& schema = ops->get(n);
    Step& step = variant->steps.emplace_back(n);
    for (size_t slot = 0; slot < n.inputs.size(); ++slot) {
      const ir::ValueId v = n.inputs[slot];
      Tensor t;
      if (v == ir::kNone) {
      } else if (g.value(v).is_initializer()) {
        t = g.value(v).data;
      } else if (input_index[v] >= 0) {
        t = Tensor::empty(shaped.value(v).shape, shaped.value(v).dtype);  // stands in for the kernel's checks
        variant->bindings.push_back({static_cast<size_t>(pos), slot, static_cast<size_t>(input_index[v])});
      } else {
        t = views[v];
      }
      step.ctx.inputs.push_back(t);
    }
    for (ir::ValueId v : n.outputs) step.ctx.outputs.push_back(views[v]);
    try {
      step.kernel = &kernels::select_forward(schema, step.ctx, options.use_kernels);
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
  }
  if (options.channels_last) variant->channels_last_values = place_channels_last(g, shaped, ord, variant->steps);
  for (int pos = 0; pos < num_steps; ++pos) {
    const ir::Node& n = g.node(ord[pos]);
    const ir::OpSchema& schema = ops->get(n);
    Step& step = variant->steps[pos];
    try {
      if (step.kernel->prepare && weights_are_constant(g, n, schema)) {
        step.prepared = step.kernel->prepare(step.ctx);
        step.ctx.prepared = step.prepared.get();
      }
    } catch (Error& e) {
      e.add_context(n.label());
      throw;
    }
    PlanStep info{n.name, n.op_type, step.kernel->name, 0, shaped.value(n.outputs.at(0)).shape};
    info.channels_last = step.ctx.channels_last;
    if (schema.macs) {
      std::vector<const ir::Value*> in, out;
      for (ir::ValueId v : n.inputs) in.push_back(v == ir::kNone ? nullptr : &shaped.value(v));
      for (ir::ValueId v : n.outputs) out.push_back(&shaped.value(v));
      info.macs = schema.macs(n, in, out);
    }
    variant->info.push_back(std::move(info));
  }
  // The placeholders were only for selection and preparation: runs bind the caller's tensors.
  for (const Binding& b : variant->bindings) variant->steps[b.step].ctx.inputs[b.slot] = Tensor();

  for (ir::ValueId v : g.outputs()) {
    variant->output_input.push_back(input_index[v]);
    variant->outputs.push_back(g.value(v).is_initializer() ? g.value(v).data : views[v]);
  }
  std::string input_shapes;
  for (const Shape& s : shapes) input_shapes += (input_shapes.empty() ? "" : ", ") + shape_str(s);
  LEANCNN_LOG("plan") << "planned " << num_steps << " steps for inputs " << input_shapes
                      << (variant->graph ? " (inverted residual blocks fused)" : "") << ": arena "
                      << mem.arena_bytes << " bytes, " << mem.total_bytes << " without reuse, "
                      << variant->channels_last_values << " activations channels-last";
  return variant;
}

Plan::Plan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;
Plan::~Plan() = default;

Plan Plan::compile(const ir::Graph& graph, const PlanOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->graph = graph;
  impl->options = options;
  impl->ops = &ops::op_table();
  ir::Graph& g = impl->graph;
  const ir::OpTable& ops = *impl->ops;
  ir::verify(g, ops);
  const int dropped = drop_identities(g, ops);
  // Before constant folding, which would turn the QDQ weights DQ(W) into float weights.
  const int lowered = options.lower_qdq ? lower_qdq(g, ops) : 0;
  const int constants = fold_constants(g, ops);
  const int folded = options.fold_batch_norm ? fold_batch_norm(g, ops) : 0;
  const int binary = options.fuse ? fuse_binary_layers(g, ops) : 0;
  const int fused = options.fuse ? fuse_conv_epilogues(g, ops) : 0;
  ir::infer_shapes(g, ops);
  ir::verify(g, ops);
  impl->order = g.topo_order();
  LEANCNN_LOG("plan") << g.name << ": " << dropped << " identities dropped, " << constants << " constants folded, "
                      << folded << " BatchNormalization folded, " << binary << " binary layers, " << fused << " conv epilogues fused, " << lowered
                      << " Conv/Gemm lowered to integer ops";
  return Plan(std::move(impl));
}

std::vector<Tensor> Plan::run(const std::vector<Tensor>& inputs) {
  Impl& p = *impl_;
  const ThreadScope threads(p.options.threads);
  p.check_inputs(inputs);
  std::vector<Shape> shapes;
  for (const Tensor& t : inputs) shapes.push_back(t.shape());
  auto it = p.variants.find(shapes);
  if (it == p.variants.end()) it = p.variants.emplace(shapes, p.build(shapes)).first;
  Variant& v = *it->second;
  p.current = &v;

  for (const Binding& b : v.bindings) v.steps[b.step].ctx.inputs[b.slot] = inputs[b.input];
  p.step_ms.assign(p.profiling ? v.steps.size() : 0, 0.0);
  try {
    for (size_t i = 0; i < v.steps.size(); ++i) {
      Step& step = v.steps[i];
      try {
        if (p.profiling) {
          const auto t0 = std::chrono::steady_clock::now();
          step.kernel->forward(step.ctx);
          p.step_ms[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        } else {
          step.kernel->forward(step.ctx);
        }
      } catch (Error& e) {
        e.add_context(step.ctx.node.label());
        throw;
      }
    }
  } catch (...) {
    for (const Binding& b : v.bindings) v.steps[b.step].ctx.inputs[b.slot] = Tensor();
    throw;
  }
  for (const Binding& b : v.bindings) v.steps[b.step].ctx.inputs[b.slot] = Tensor();  // the caller's, not ours

  std::vector<Tensor> out;
  out.reserve(v.outputs.size());
  for (size_t i = 0; i < v.outputs.size(); ++i)
    out.push_back(v.output_input[i] >= 0 ? inputs[v.output_input[i]].clone() : v.outputs[i].clone());
  return out;
}

const ir::Graph& Plan::graph() const { return impl_->graph; }

const std::vector<PlanStep>& Plan::steps() const {
  static const std::vector<PlanStep> none;
  return impl_->current ? impl_->current->info : none;
}

PlanMemory Plan::memory() const { return impl_->current ? impl_->current->memory : PlanMemory{}; }

void Plan::set_profiling(bool on) { impl_->profiling = on; }

const std::vector<double>& Plan::step_ms() const { return impl_->step_ms; }

}  // namespace leancnn::runtime
