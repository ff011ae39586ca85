// cpuid_cap: an LD_PRELOAD library that makes a whole process see a smaller CPU.
//
// Why: LEANCNN_MAX_CPU_ISA and ONEDNN_MAX_CPU_ISA cap leancnn and oneDNN, but ONNX Runtime (MLAS)
// and PyTorch read CPUID themselves and cannot be capped, so "leancnn capped to AVX2 vs ONNX
// Runtime" compared an AVX2 leancnn with an AVX-512 peer. With this library preloaded, every
// CPUID the process executes after start-up reports the capped CPU: every library dispatches
// as it would on that CPU, leancnn and oneDNN included, with no variable of theirs.
//
// How: Linux's CPUID faulting (arch_prctl(ARCH_SET_CPUID, 0); /proc/cpuinfo flag "cpuid_fault",
// Intel since Ivy Bridge, AMD since Zen 4, and KVM guests). CPUID then raises SIGSEGV; the
// handler executes the real CPUID with faulting briefly off, clears the capped feature bits and
// steps over the instruction. The setting is per thread and inherited by threads created later,
// so it is set in a constructor before any library spawns one. A SIGSEGV that is not a CPUID
// goes to the handler installed before ours, or to the default action (a crash, as without us).
//
// LEANCNN_CPUID_CAP (default avx2):
//   avx2         AVX2 + FMA + F16C, no AVX-512 of any kind, no AVX-VNNI: an AMD Zen 3.
//   avx512_core  AVX-512 F/CD/BW/DQ/VL without VNNI, VBMI, VPOPCNTDQ, BF16, FP16, AMX: a Skylake-SP.
// Nothing else is changed (XGETBV still reports the OS's ZMM state; code that checks the CPUID
// bits first, as every dispatcher does, never asks).
//
// If the CPU or kernel cannot fault CPUID the constructor says so and exits with status 3:
// a benchmark that silently ran uncapped would report a wrong figure.
//
// A program that installs its own SIGSEGV handler later (Node's V8 does) gets it recorded, not
// installed: ours stays first and passes every fault that is not a CPUID on to it.
//
// Usage: tools/cap_cpu.sh avx2 COMMAND...   (sets LD_PRELOAD to build/tools/libleancnn_cpuid_cap.so)
#include <asm/prctl.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

namespace {

enum class Level { avx2, avx512_core };

Level g_level = Level::avx2;
bool g_installed = false;
struct sigaction g_previous;  // the SIGSEGV action the program asked for (before or after ours)

using SigactionFn = int (*)(int, const struct sigaction*, struct sigaction*);

SigactionFn real_sigaction() {
  static SigactionFn fn = reinterpret_cast<SigactionFn>(dlsym(RTLD_NEXT, "sigaction"));
  return fn;
}

long set_cpuid_enabled(int enabled) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled); }

constexpr uint32_t BIT(int n) { return 1u << n; }

// Clears the feature bits the cap removes from one CPUID leaf's answer.
void mask_leaf(uint32_t leaf, uint32_t sub, uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d) {
  if (leaf == 7 && sub == 0) {
    // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
    const uint32_t core_b = BIT(16) | BIT(17) | BIT(28) | BIT(30) | BIT(31);
    const uint32_t rest_b = BIT(21) | BIT(26) | BIT(27);
    // ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14.
    const uint32_t rest_c = BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14);
    // EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, FP16 23, AMX-TILE 24, AMX-INT8 25.
    const uint32_t rest_d = BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25);
    *b &= ~rest_b;
    *c &= ~rest_c;
    *d &= ~rest_d;
    if (g_level == Level::avx2) *b &= ~core_b;
  } else if (leaf == 7 && sub == 1) {
    // EAX: AVX-VNNI 4, AVX512_BF16 5, AVX-IFMA 23; EDX: AVX-VNNI-INT8 4, AVX-NE-CONVERT 5, AVX10 19.
    *a &= ~(BIT(4) | BIT(5) | BIT(23));
    *d &= ~(BIT(4) | BIT(5) | BIT(19));
  } else if (leaf == 0x24) {
    *a = *b = *c = *d = 0;  // AVX10 version leaf
  }
}

void on_segv(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* r = uc->uc_mcontext.gregs;
  const auto* ip = reinterpret_cast<const unsigned char*>(r[REG_RIP]);
  if (info->si_code == SI_KERNEL && ip[0] == 0x0f && ip[1] == 0xa2) {
    const int saved = errno;
    uint32_t a = 0, b = 0, c = 0, d = 0;
    const auto leaf = static_cast<uint32_t>(r[REG_RAX]), sub = static_cast<uint32_t>(r[REG_RCX]);
    set_cpuid_enabled(1);
    __cpuid_count(leaf, sub, a, b, c, d);
    set_cpuid_enabled(0);
    mask_leaf(leaf, sub, &a, &b, &c, &d);
    r[REG_RAX] = a;  // CPUID zero-extends into the 64-bit registers
    r[REG_RBX] = b;
    r[REG_RCX] = c;
    r[REG_RDX] = d;
    r[REG_RIP] += 2;
    errno = saved;
    return;
  }
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction) g_previous.sa_sigaction(sig, info, context);
    return;
  }
  // SIG_IGN: the kernel takes the default action on a forced SIGSEGV anyway (returning would
  // re-execute the fault forever), so it is handled as SIG_DFL below.
  if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  real_sigaction()(SIGSEGV, &dfl, nullptr);  // re-executing the faulting instruction now takes the default action
}

}  // namespace

// The program's own SIGSEGV handlers are recorded and chained to, never installed over ours.
extern "C" int sigaction(int sig, const struct sigaction* act, struct sigaction* old) noexcept {
  if (sig != SIGSEGV || !g_installed) return real_sigaction()(sig, act, old);
  if (old != nullptr) *old = g_previous;
  if (act != nullptr) g_previous = *act;
  return 0;
}

extern "C" sighandler_t signal(int sig, sighandler_t handler) noexcept {
  struct sigaction act {}, old {};
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  if (sigaction(sig, &act, &old) != 0) return SIG_ERR;
  return old.sa_handler;
}

// Runs first of all libraries (-z initfirst), before libc has set `environ`: glibc passes every
// ELF constructor (argc, argv, envp), so the variable is read from envp.
__attribute__((constructor)) static void cpuid_cap_start(int /*argc*/, char** /*argv*/, char** envp) {
  const char* level = nullptr;
  static const char kName[] = "LEANCNN_CPUID_CAP=";
  for (char** e = envp; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, kName, sizeof kName - 1) == 0) level = *e + sizeof kName - 1;
  }
  if (level == nullptr || level[0] == '\0' || strcmp(level, "avx2") == 0) {
    g_level = Level::avx2;
  } else if (strcmp(level, "avx512_core") == 0) {
    g_level = Level::avx512_core;
  } else {
    fprintf(stderr, "cpuid_cap: LEANCNN_CPUID_CAP='%s' is not a level: use avx2 or avx512_core\n", level);
    _exit(3);
  }
  struct sigaction sa {};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (real_sigaction() == nullptr || real_sigaction()(SIGSEGV, &sa, &g_previous) != 0) {
    fprintf(stderr, "cpuid_cap: sigaction(SIGSEGV) failed: %s\n", strerror(errno));
    _exit(3);
  }
  g_installed = true;
  if (set_cpuid_enabled(0) != 0) {
    fprintf(stderr,
            "cpuid_cap: this CPU or kernel cannot fault CPUID (arch_prctl ARCH_SET_CPUID: %s; "
            "/proc/cpuinfo lists 'cpuid_fault' where it can): the process would run uncapped, so it stops\n",
            strerror(errno));
    _exit(3);
  }
}
