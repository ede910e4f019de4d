// The SFTP client (src/net/sftp_client.h) against a real OpenSSH sshd: what
// a listing reports, that an upload is visible only under a temporary name
// until it is complete, that a failed upload leaves nothing behind, and that
// a server that stops answering ends in an error instead of a hang.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>

#include "e2e_support.h"
#include "net/sftp_client.h"
#include "sftp/sshd_server.h"

namespace citybooks_e2e {
namespace {

using citybooks::ByteSource;
using citybooks::ErrorCode;
using citybooks::Result;
using citybooks::SftpClient;
using citybooks::SftpEntry;
using citybooks::SftpLocation;
using citybooks::SftpOptions;

std::vector<std::string> NamesIn(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Hands out `chunks` pieces of `piece`, calling `between` before each one
// after the first, then fails if `fail` is set.
class ScriptedSource : public ByteSource {
 public:
  ScriptedSource(std::string piece, int chunks, std::function<void()> between, bool fail)
      : piece_(std::move(piece)), chunks_(chunks), between_(std::move(between)), fail_(fail) {}
  Result<size_t> Read(char* buffer, size_t size) override {
    if (served_ == chunks_) {
      if (fail_) return citybooks::Fail(ErrorCode::kIoError, "local.csv: read failed (scripted)");
      return size_t{0};
    }
    if (served_ > 0 && between_) between_();
    ++served_;
    size_t n = std::min(size, piece_.size());
    std::copy_n(piece_.data(), n, buffer);
    return n;
  }
  std::string_view name() const override { return "local.csv"; }

 private:
  std::string piece_;
  int chunks_;
  std::function<void()> between_;
  bool fail_;
  int served_ = 0;
};

class SftpOpenSshTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = SshdServer::Start();
    ASSERT_TRUE(started) << "cannot start OpenSSH's sshd for the SFTP tests: " << started.error();
    sshd_ = std::move(*started);
    auto location = citybooks::ParseSftpUrl(sshd_->Url(sshd_->remote_dir()));
    ASSERT_TRUE(location) << location.error().message();
    location_ = *location;
  }

  std::unique_ptr<SftpClient> Connect(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    SftpOptions options{.private_key = sshd_->user_key().string(),
                        .known_hosts = sshd_->known_hosts().string(),
                        .timeout = timeout};
    auto client = SftpClient::Connect(location_, options);
    EXPECT_TRUE(client) << client.error().message() << "\nsshd log:\n" << sshd_->Log();
    return client ? std::move(*client) : nullptr;
  }
  fs::path Remote(const std::string& name) const { return sshd_->remote_dir() / name; }

  std::unique_ptr<SshdServer> sshd_;
  SftpLocation location_;
};

TEST_F(SftpOpenSshTest, ListGivesSortedNamesSizesMtimesAndFollowsLinks) {
  WriteFile(Remote("b.csv"), "12345");
  WriteFile(Remote("a.csv"), "");
  fs::create_directory(Remote("folder"));
  fs::create_symlink(Remote("b.csv"), Remote("link.csv"));
  fs::create_symlink(Remote("gone.csv"), Remote("dangling.csv"));
  auto when = fs::file_time_type::clock::from_sys(
      std::chrono::sys_seconds(std::chrono::seconds(1700000000)));
  fs::last_write_time(Remote("b.csv"), when);

  auto client = Connect();
  ASSERT_TRUE(client);
  auto entries = client->List(location_.path);
  ASSERT_TRUE(entries) << entries.error().message();
  std::vector<std::string> names;
  for (const SftpEntry& entry : *entries) names.push_back(entry.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"a.csv", "b.csv", "dangling.csv", "folder", "link.csv"}));
  const SftpEntry& b = (*entries)[1];
  EXPECT_TRUE(b.regular_file);
  EXPECT_EQ(b.bytes, 5u);
  EXPECT_EQ(b.mtime, 1700000000);
  EXPECT_FALSE((*entries)[2].regular_file);  // dangling link
  EXPECT_TRUE((*entries)[3].folder);
  EXPECT_FALSE((*entries)[3].regular_file);
  const SftpEntry& link = (*entries)[4];
  EXPECT_TRUE(link.regular_file);
  EXPECT_EQ(link.bytes, 5u);
  EXPECT_EQ(link.mtime, 1700000000);

  auto missing = client->List(location_.path + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message().find(sshd_->Url(Remote("nope"))), std::string::npos)
      << missing.error().message();
}

TEST_F(SftpOpenSshTest, AnUploadIsVisibleOnlyUnderATemporaryNameUntilComplete) {
  auto client = Connect();
  ASSERT_TRUE(client);
  std::vector<std::vector<std::string>> seen;
  ScriptedSource source(
      std::string(30000, 'x'), 3, [&] { seen.push_back(NamesIn(sshd_->remote_dir())); }, false);
  auto sent = client->Upload(source, location_.path, "jan.csv");
  ASSERT_TRUE(sent) << sent.error().message();
  EXPECT_EQ(sent->bytes, 90000u);
  EXPECT_EQ(sent->path, Remote("jan.csv").string());
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& names : seen) {
    ASSERT_EQ(names.size(), 1u);
    EXPECT_EQ(names[0].rfind(".jan.csv.part-", 0), 0u) << names[0];
  }
  EXPECT_EQ(NamesIn(sshd_->remote_dir()), (std::vector<std::string>{"jan.csv"}));
  EXPECT_EQ(ReadFile(Remote("jan.csv")), std::string(90000, 'x'));

  // The bytes come back as they went.
  auto download = client->OpenForRead(sent->path);
  ASSERT_TRUE(download) << download.error().message();
  std::string back;
  char buffer[10000];
  while (true) {
    auto n = (*download)->Read(buffer, sizeof buffer);
    ASSERT_TRUE(n) << n.error().message();
    if (*n == 0) break;
    back.append(buffer, *n);
  }
  EXPECT_EQ(back, std::string(90000, 'x'));
}

TEST_F(SftpOpenSshTest, AFailedUploadLeavesNoFileBehind) {
  WriteFile(Remote("jan.csv"), "the old complete file\n");
  auto client = Connect();
  ASSERT_TRUE(client);
  ScriptedSource source(std::string(30000, 'y'), 2, nullptr, true);
  auto sent = client->Upload(source, location_.path, "jan.csv");
  ASSERT_FALSE(sent);
  EXPECT_NE(sent.error().message().find("read failed (scripted)"), std::string::npos);
  EXPECT_EQ(NamesIn(sshd_->remote_dir()), (std::vector<std::string>{"jan.csv"}));
  EXPECT_EQ(ReadFile(Remote("jan.csv")), "the old complete file\n");
}

TEST_F(SftpOpenSshTest, OpeningAMissingFileIsNotFoundNamingItsUrl) {
  auto client = Connect();
  ASSERT_TRUE(client);
  auto opened = client->OpenForRead(location_.path + "/nope.csv");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(opened.error().message().rfind(sshd_->Url(Remote("nope.csv")) + ": ", 0), 0u)
      << opened.error().message();
}

TEST_F(SftpOpenSshTest, AServerThatStopsAnsweringEndsInAnErrorNotAHang) {
  auto client = Connect(std::chrono::seconds(2));
  ASSERT_TRUE(client);
  sshd_->SignalSessions(SIGSTOP);
  auto start = std::chrono::steady_clock::now();
  auto entries = client->List(location_.path);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sshd_->SignalSessions(SIGCONT);
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().code(), ErrorCode::kUnavailable);
  EXPECT_NE(entries.error().message().find("did not answer for 2 s"), std::string::npos)
      << entries.error().message();
  // Generous: only "it gave up instead of waiting forever" is asserted.
  EXPECT_LT(seconds, 120.0);
  // The session is closed for good: the next call fails at once too.
  EXPECT_FALSE(client->Stat(location_.path));
}

}  // namespace
}  // namespace citybooks_e2e
