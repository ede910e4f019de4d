#include "serve_support.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>
#include <thread>

namespace citybooks_e2e {

nlohmann::json HttpReply::Json() const {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    ADD_FAILURE() << "not JSON (HTTP " << status << "): " << body.substr(0, 500);
    return nullptr;
  }
  return parsed;
}

ServeProcess::~ServeProcess() {
  if (running()) Stop();
}

bool ServeProcess::WaitFor(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool ServeProcess::Start(const std::vector<std::string>& argv, const fs::path& dir,
                         const std::vector<std::pair<std::string, std::string>>& env,
                         bool wait_until_serving) {
  static int counter = 0;
  std::string stem = "serve-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
  out_ = dir / (stem + ".out");
  err_ = dir / (stem + ".err");
  for (const std::string& arg : argv) command_ += (command_.empty() ? "" : " ") + arg;

  pid_ = SpawnToFiles(argv, RunOptions{dir, env}, out_, err_);
  if (pid_ < 0) return false;
  if (!wait_until_serving) return true;
  static const std::regex kUrl(R"(http://[^ /]+:([0-9]+)/)");
  bool printed = WaitFor(
      [&] {
        std::smatch match;
        std::string text = Stdout();
        if (std::regex_search(text, match, kUrl)) {
          port_ = std::stoi(match[1]);
          return true;
        }
        int status = 0;
        return waitpid(pid_, &status, WNOHANG) == pid_ && (pid_ = -1, true);
      },
      std::chrono::seconds(120));
  if (!printed || pid_ < 0) {
    ADD_FAILURE() << "`" << command_ << "` did not start serving:\n--- stdout:\n"
                  << Stdout() << "\n--- stderr:\n"
                  << Stderr();
    return false;
  }
  bool healthy = WaitFor([&] { return Get("/healthz").status == 200; }, std::chrono::seconds(60));
  if (!healthy) ADD_FAILURE() << "`" << command_ << "` does not answer /healthz:\n" << Stderr();
  return healthy;
}

ProcessResult ServeProcess::Stop() {
  ProcessResult result;
  result.command = command_;
  if (pid_ <= 0) return result;
  kill(pid_, SIGTERM);
  int status = 0;
  bool ended =
      WaitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, std::chrono::seconds(60));
  if (!ended) {
    ADD_FAILURE() << "`" << command_ << "` did not stop within 60 s of SIGTERM; killing it";
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.exit_status = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  result.out = Stdout();
  result.err = Stderr();
  return result;
}

std::string ServeProcess::Stdout() const {
  std::error_code error;
  return fs::exists(out_, error) ? ReadFile(out_) : std::string();
}

std::string ServeProcess::Stderr() const {
  std::error_code error;
  return fs::exists(err_, error) ? ReadFile(err_) : std::string();
}

namespace {

HttpReply ToReply(const httplib::Result& result) {
  HttpReply reply;
  if (!result) return reply;
  reply.status = result->status;
  reply.body = result->body;
  reply.content_type = result->get_header_value("Content-Type");
  reply.content_disposition = result->get_header_value("Content-Disposition");
  return reply;
}

}  // namespace

HttpReply ServeProcess::Get(const std::string& target,
                            const std::vector<std::pair<std::string, std::string>>& headers) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(10);
  client.set_read_timeout(120);
  httplib::Headers list;
  for (const auto& [name, value] : headers) list.emplace(name, value);
  return ToReply(client.Get(target, list));
}

HttpReply ServeProcess::Post(const std::string& target, const std::string& body,
                             const std::string& content_type) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(10);
  client.set_read_timeout(120);
  return ToReply(client.Post(target, body, content_type));
}

std::string UrlEncode(const std::string& text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::map<std::string, std::vector<std::string>> WarehouseDump(const fs::path& dir) {
  std::map<std::string, std::vector<std::string>> dump;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".db") continue;
    for (auto& [table, rows] : DumpDatabase(entry.path()))
      dump[entry.path().filename().string() + ":" + table] = std::move(rows);
  }
  return dump;
}

}  // namespace citybooks_e2e
