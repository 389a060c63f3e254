// See dynlib.cuh.
#include "dynlib.cuh"

#include <dlfcn.h>
#include <glob.h>

#include <cstdlib>
#include <vector>

namespace olmo::cuda {

bool env_on(const char* name, bool dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N' || v[0] == 'f' || v[0] == 'F');
}

namespace {
void* try_open(const std::string& p, std::string* used) {
  void* h = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h) *used = p;
  return h;
}
}  // namespace

void* open_cuda_library(const std::string& base, const char* env_path, std::string* used, std::string* searched) {
  const std::vector<std::string> names = {base + ".so.13", base + ".so.12", base + ".so"};
  std::string where;
  if (const char* env = env_path ? std::getenv(env_path) : nullptr; env && *env) {
    std::string p(env);
    where += std::string("$") + env_path + "=" + p + ", ";
    if (void* h = try_open(p, used)) return h;
    for (const auto& n : names)
      if (void* h = try_open(p + "/" + n, used)) return h;
  }
  for (const auto& n : names)
    if (void* h = try_open(n, used)) return h;
  // `.so.1[0-9]*` keeps libcublas.so.* from matching libcublasLt.so.* and vice versa.
  const std::string so = base + ".so.1[0-9]*";
  std::vector<std::string> patterns = {
      "/usr/local/cuda/lib64/" + so, "/usr/local/cuda/targets/*/lib/" + so, "/usr/local/cuda-1[0-9]*/lib64/" + so,
      "/usr/lib/*-linux-gnu/" + so,
  };
  std::vector<std::string> roots = {"/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
                                    "/usr/lib/python3*/dist-packages", "/usr/lib/python3/dist-packages", "/opt/conda/lib/python3*/site-packages"};
  if (const char* home = std::getenv("HOME")) roots.push_back(std::string(home) + "/.local/lib/python3*/site-packages");
  if (const char* venv = std::getenv("VIRTUAL_ENV")) roots.push_back(std::string(venv) + "/lib/python3*/site-packages");
  if (const char* conda = std::getenv("CONDA_PREFIX")) {
    roots.push_back(std::string(conda) + "/lib/python3*/site-packages");
    patterns.push_back(std::string(conda) + "/lib/" + so);
  }
  for (const auto& r : roots) {
    patterns.push_back(r + "/nvidia/cu13/lib/" + base + ".so.13*");
    patterns.push_back(r + "/nvidia/cublas/lib/" + so);
  }
  for (const auto& pat : patterns) {
    glob_t g{};
    if (glob(pat.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = g.gl_pathc; i-- > 0;) {  // highest version first (glob sorts ascending)
        if (void* h = try_open(g.gl_pathv[i], used)) {
          globfree(&g);
          return h;
        }
      }
    }
    globfree(&g);
  }
  if (searched)
    *searched = where + "the loader path (" + names[0] + ", " + names[1] + "), /usr/local/cuda*/lib64, $CONDA_PREFIX/lib and "
                "site-packages/nvidia/{cu13,cublas}/lib";
  return nullptr;
}

}  // namespace olmo::cuda
