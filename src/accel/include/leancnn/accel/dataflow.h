// Dataflows (Chen, Emer, Sze's taxonomy; survey §3.1) as mapping constraints and templates:
// which operand stays in the PE, which dimensions spread over the PE array's X and Y, and a
// deterministic template mapping for a problem on an architecture.
#pragma once
#include <array>
#include <vector>

#include "leancnn/accel/architecture.h"
#include "leancnn/accel/mapping.h"
#include "leancnn/accel/workload.h"

namespace leancnn::accel {

struct DataflowSpec {
  Dataflow dataflow;
  Operand stationary;            // kept in the PE (rs: weights for the loop orders above the PE)
  std::vector<Dim> pe_temporal;  // the only dimensions the constrained PE level may iterate over
  std::vector<Dim> x_dims;       // dimensions spread over a fan-out's X (preference order)
  std::vector<Dim> y_dims;       // and Y
  std::vector<Dim> spill_order;  // first dimensions moved out of an overflowing buffer
};

// ws: weights stay in the PE (TPU, NVDLA): PE loops over N, P, Q; X ← M, Y ← C, R, S.
// is: inputs stay (SCNN): PE loops over M; X ← Q, P; Y ← C, P.
// os: outputs stay (ShiDianNao): PE loops over C, R, S; X ← Q, P; Y ← P, M.
// rs: row stationary (Eyeriss): PE loops over S, Q, C, M (a 1-D row convolution);
//     Y ← R (filter rows), C, M; X ← P (output rows), M.
const DataflowSpec& dataflow_spec(Dataflow d);

// The level whose temporal loops the dataflow constrains: below the PE array's fan-out, the
// innermost level keeping the stationary operand (rs: the innermost level); -1 when the
// architecture has no fan-out or no such level.
int constrained_level(const Architecture& arch, const DataflowSpec& spec);
// Dimensions allowed on level i's fan-out (the architecture's override, else the dataflow's).
const std::vector<Dim>& allowed_x(const Architecture& arch, int level, const DataflowSpec& spec);
const std::vector<Dim>& allowed_y(const Architecture& arch, int level, const DataflowSpec& spec);
// A loop order with the dimensions operand t does not depend on innermost (t stays put
// while they iterate), the others outside in N G M C P Q R S order.
std::array<Dim, kNumDims> stationary_order(Operand t);

// The dataflow's template mapping: spatial factors filling each fan-out as fully as the
// allowed dimensions divide; the constrained PE level grown greedily over its dimensions;
// everything else in the array's level, moved out along the spill order (one prime factor at
// a time) while a level overflows. Deterministic; a larger buffer only ever ends the spill
// chain earlier, so its tiles contain the smaller buffer's. May be invalid (a PE level that
// cannot hold even the smallest tile): validate_mapping says which level and why.
Mapping template_mapping(const Problem& p, const Architecture& arch, Dataflow d);

}  // namespace leancnn::accel
