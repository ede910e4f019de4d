// Timestamps as the portals write them: Socrata's ISO-8601 with milliseconds,
// CKAN's with microseconds and no zone, and HTTP dates for Last-Modified.
//
//   FormatHttpDate(sys_days{2024y / 1 / 2} + 10h)  // "Tue, 02 Jan 2024 10:00:00 GMT"
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace citybooks::emulator {

// The resolution CKAN reports (and the emulator keeps) modification times in.
using PortalTime = std::chrono::sys_time<std::chrono::microseconds>;

// "2024-01-02T10:00:00.000Z": Socrata's :created_at / :updated_at.
std::string FormatSocrataTimestamp(std::chrono::sys_seconds time);

// "2024-01-02T10:00:00.123456": CKAN's metadata_modified / last_modified.
std::string FormatCkanTimestamp(PortalTime time);

// "Tue, 02 Jan 2024 10:00:00 GMT" (RFC 9110 IMF-fixdate).
std::string FormatHttpDate(std::chrono::sys_seconds time);

// Parses "2024-01-02", "2024-01-02T10:00:00" with an optional fraction of up
// to nine digits and an optional "Z" (Socrata's floating timestamps are UTC
// here). Returns nullopt for anything else.
std::optional<std::chrono::sys_time<std::chrono::microseconds>> ParseIsoTimestamp(
    std::string_view text);

// Parses an IMF-fixdate ("Tue, 02 Jan 2024 10:00:00 GMT"); nullopt otherwise.
std::optional<std::chrono::sys_seconds> ParseHttpDate(std::string_view text);

}  // namespace citybooks::emulator
