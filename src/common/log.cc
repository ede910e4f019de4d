#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <string>

namespace citybooks {

namespace {
std::atomic<bool> quiet{false};

void Write(std::string_view prefix, std::string_view message) {
  std::string line = "citybooks: ";
  line += prefix;
  line += message;
  line += '\n';
  std::fflush(stdout);  // keep stdout and stderr lines in the order they happened
  std::fwrite(line.data(), 1, line.size(), stderr);
}
}  // namespace

void SetQuiet(bool value) { quiet = value; }
bool IsQuiet() { return quiet; }
void LogInfo(std::string_view message) {
  if (!quiet) Write("", message);
}
void LogWarning(std::string_view message) { Write("warning: ", message); }
void LogError(std::string_view message) { Write("error: ", message); }

}  // namespace citybooks
