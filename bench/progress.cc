#include <cstdarg>
#include <cstdio>
#include <fstream>

#include "scenarios.h"
#include "stats.h"

namespace bench {

void Progress(const char* format, ...) {
  static const auto start = Clock::now();
  std::fprintf(stderr, "[%6.1f s] ", std::chrono::duration<double>(Clock::now() - start).count());
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace bench
