// FUZZ_CHECK(condition, detail): the fuzz targets' oracle. Unlike assert it stays on in
// release builds, and it aborts so that libFuzzer saves the input and a test run fails.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, detail)                                                            \
  do {                                                                                           \
    if (!(condition)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #condition, \
                   static_cast<const char*>(detail));                                            \
      std::abort();                                                                              \
    }                                                                                            \
  } while (false)
