// A real OpenSSH sshd for the SFTP tests: Debian's /usr/sbin/sshd on
// 127.0.0.1 at a port picked at start, with a generated host key, a
// generated user key pair authorised for the user running the tests (root in
// CI, who then logs in with PermitRootLogin prohibit-password), internal-sftp,
// no passwords, and a known_hosts file for its host key (plus one recording a
// different key, for the refusal tests). Everything lives in a temp folder
// that is removed, with the server stopped, on destruction.
//
//   auto started = SshdServer::Start();
//   ASSERT_TRUE(started) << started.error();
//   SshdServer& sshd = **started;
//   // citybooks push a.csv --to sshd.Url(sshd.remote_dir()) --key sshd.user_key()
//   //   --known-hosts sshd.known_hosts()
#pragma once

#include <sys/types.h>

#include <expected>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace citybooks_e2e {

class SshdServer {
 public:
  // Generates the keys and configuration, starts sshd and waits until its
  // port accepts connections. The error names what failed (sshd missing,
  // ssh-keygen failing, sshd exiting — with its log).
  static std::expected<std::unique_ptr<SshdServer>, std::string> Start();
  ~SshdServer();
  SshdServer(const SshdServer&) = delete;
  SshdServer& operator=(const SshdServer&) = delete;

  int port() const { return port_; }
  // The user the server lets in: the one running the tests.
  const std::string& user() const { return user_; }
  // An empty folder the tests push to and read from (an absolute path).
  std::filesystem::path remote_dir() const { return dir_ / "remote"; }
  // sftp://USER@127.0.0.1:PORT + `remote_path` (absolute).
  std::string Url(const std::filesystem::path& remote_path) const;

  // The authorised user key (private half; its .pub sits beside it).
  std::filesystem::path user_key() const { return dir_ / "user_key"; }
  // A valid key the server does not know.
  std::filesystem::path stranger_key() const { return dir_ / "stranger_key"; }
  // "[127.0.0.1]:PORT ssh-ed25519 ..." for the server's real host key.
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
  // The same host name recorded with another ed25519 key.
  std::filesystem::path wrong_known_hosts() const { return dir_ / "wrong_known_hosts"; }
  // A known_hosts file that knows another server only.
  std::filesystem::path other_known_hosts() const { return dir_ / "other_known_hosts"; }

  // What sshd has logged so far (for assertion messages).
  std::string Log() const;

  // Sends `signal` to every process sshd forked for a connection (SIGSTOP
  // makes a server that stops answering mid-session; SIGCONT resumes it).
  void SignalSessions(int signal) const;

 private:
  SshdServer() = default;
  std::expected<void, std::string> Prepare();
  std::expected<void, std::string> Launch();
  void Stop();
  std::vector<pid_t> Descendants() const;

  std::filesystem::path dir_;
  std::string user_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace citybooks_e2e
