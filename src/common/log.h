// Progress and log lines on stderr. Quiet mode (--quiet) keeps only errors.
#pragma once

#include <string_view>

namespace citybooks {

void SetQuiet(bool quiet);
bool IsQuiet();

// "citybooks: <message>" on stderr unless quiet.
void LogInfo(std::string_view message);
// "citybooks: warning: <message>" on stderr, even when quiet.
void LogWarning(std::string_view message);
// "citybooks: error: <message>" on stderr, always.
void LogError(std::string_view message);

}  // namespace citybooks
