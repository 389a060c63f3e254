// Run-time loading of the CUDA math libraries (cuBLAS, cuBLASLt). They are never linked, so the
// addon builds and loads without them; a GPU host that has them only inside Python wheels
// (site-packages/nvidia/{cu13,cublas}/lib) still finds them.
#pragma once
#include <string>

namespace olmo::cuda {

// dlopen()s the newest `<base>.so.N` found, in this order: the file or folder named by the
// environment variable `env_path` (when set), the loader path (<base>.so.13, .12, <base>.so), the
// CUDA toolkit folders, conda ($CONDA_PREFIX/lib) and pip installs (site-packages/nvidia/cu13/lib,
// site-packages/nvidia/cublas/lib under the system, user, venv and conda Pythons).
// Returns the handle (RTLD_LOCAL) and sets *used to the path that loaded, or returns nullptr and
// sets *searched to a short description of where it looked (for error messages).
void* open_cuda_library(const std::string& base, const char* env_path, std::string* used, std::string* searched);

// OLMO_<NAME>=0/false/no turns a feature off; unset or empty leaves the default.
bool env_on(const char* name, bool dflt);

}  // namespace olmo::cuda
