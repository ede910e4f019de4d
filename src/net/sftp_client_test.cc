// The SFTP client's URL and path rules, and the failures it reports before or
// without an SSH server: a missing key, a refused connection, a server that
// never answers. Transfers are tested end to end against OpenSSH (tests/sftp).
#include "net/sftp_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace citybooks {
namespace {

namespace fs = std::filesystem;

TEST(SftpUrl, ParsesUserHostPortAndAbsoluteFolder) {
  auto parsed = ParseSftpUrl("sftp://drop@files.example.org:2222/outgoing/phoenix/");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->user, "drop");
  EXPECT_EQ(parsed->host, "files.example.org");
  EXPECT_EQ(parsed->port, 2222);
  EXPECT_EQ(parsed->path, "/outgoing/phoenix");
  EXPECT_EQ(parsed->url, "sftp://drop@files.example.org:2222/outgoing/phoenix/");
  EXPECT_EQ(parsed->KnownHostsName(), "[files.example.org]:2222");
  EXPECT_EQ(parsed->UrlOf("/outgoing/phoenix/jan.csv"),
            "sftp://drop@files.example.org:2222/outgoing/phoenix/jan.csv");
}

TEST(SftpUrl, PortDefaultsTo22AndKnownHostsNameIsThePlainHost) {
  auto parsed = ParseSftpUrl("SFTP://drop@127.0.0.1/srv/drop");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->port, 22);
  EXPECT_EQ(parsed->path, "/srv/drop");
  EXPECT_EQ(parsed->KnownHostsName(), "127.0.0.1");
  EXPECT_EQ(parsed->UrlOf(parsed->path), "sftp://drop@127.0.0.1:22/srv/drop");
}

TEST(SftpUrl, TildeMeansTheLoginFolder) {
  auto relative = ParseSftpUrl("sftp://drop@host/~/outgoing");
  ASSERT_TRUE(relative) << relative.error().message();
  EXPECT_EQ(relative->path, "outgoing");
  EXPECT_EQ(relative->UrlOf("outgoing/a.csv"), "sftp://drop@host:22/~/outgoing/a.csv");

  auto home = ParseSftpUrl("sftp://drop@host/~/");
  ASSERT_TRUE(home) << home.error().message();
  EXPECT_EQ(home->path, ".");
  EXPECT_EQ(home->UrlOf(JoinRemotePath(home->path, "a.csv")), "sftp://drop@host:22/~/a.csv");

  auto root = ParseSftpUrl("sftp://drop@host");
  ASSERT_TRUE(root) << root.error().message();
  EXPECT_EQ(root->path, "/");
}

TEST(SftpUrl, PercentEscapesAreDecodedForTheServerAndKeptInUrls) {
  auto parsed = ParseSftpUrl("sftp://city%2Ddrop@host/data/finance%20drop");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->user, "city-drop");
  EXPECT_EQ(parsed->path, "/data/finance drop");
  EXPECT_EQ(parsed->UrlOf(JoinRemotePath(parsed->path, "jan 2024.csv")),
            "sftp://city-drop@host:22/data/finance%20drop/jan%202024.csv");
}

TEST(SftpUrl, BracketedIpv6Host) {
  auto parsed = ParseSftpUrl("sftp://drop@[::1]:2200/in");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->host, "::1");
  EXPECT_EQ(parsed->port, 2200);
  EXPECT_EQ(parsed->KnownHostsName(), "[::1]:2200");
  EXPECT_EQ(parsed->UrlOf("/in"), "sftp://drop@[::1]:2200/in");
}

TEST(SftpUrl, NoUserMeansTheLocalUser) {
  auto parsed = ParseSftpUrl("sftp://host/in");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_FALSE(parsed->user.empty());
}

TEST(SftpUrl, MalformedUrlsAreUsageErrorsNamingTheUrl) {
  for (const char* url :
       {"http://host/in", "sftp:/host/in", "sftp:///in", "sftp://drop@:22/in", "sftp://host:0/in",
        "sftp://host:65536/in", "sftp://host:22x/in", "sftp://host:/in", "sftp://host/in?x=1",
        "sftp://host/in#top", "sftp://host/in%2", "sftp://host/in%zz", "sftp://host/in%00x",
        "sftp://[::1/in", "sftp://ho st/in"}) {
    auto parsed = ParseSftpUrl(url);
    ASSERT_FALSE(parsed) << url << " was accepted";
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument) << url;
    EXPECT_NE(parsed.error().message().find(url), std::string::npos) << parsed.error().message();
  }
}

TEST(SftpUrl, APasswordIsRefusedWithoutRepeatingIt) {
  auto parsed = ParseSftpUrl("sftp://drop:hunter2@host/in");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message().find("hunter2"), std::string::npos)
      << parsed.error().message();
  EXPECT_NE(parsed.error().message().find("password"), std::string::npos);
}

TEST(SftpUrl, ControlCharactersAreRefused) {
  auto parsed = ParseSftpUrl(std::string("sftp://host/in\x1b[2J"));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
  for (unsigned char c : parsed.error().message()) EXPECT_GE(c, 0x20);
}

TEST(SftpPath, JoinDoesNotDoubleSlashes) {
  EXPECT_EQ(JoinRemotePath("/", "a.csv"), "/a.csv");
  EXPECT_EQ(JoinRemotePath("/in", "a.csv"), "/in/a.csv");
  EXPECT_EQ(JoinRemotePath("/in/", "a.csv"), "/in/a.csv");
  EXPECT_EQ(JoinRemotePath(".", "a.csv"), "./a.csv");
  EXPECT_EQ(JoinRemotePath("", "a.csv"), "a.csv");
}

// A temp folder holding an ed25519 key pair made by ssh-keygen.
class SftpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string base = tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
    std::string templ = base + "/sftp-client-test-XXXXXX";
    std::vector<char> buffer(templ.begin(), templ.end());
    buffer.push_back('\0');
    ASSERT_NE(mkdtemp(buffer.data()), nullptr);
    dir_ = buffer.data();
    key_ = dir_ / "id_ed25519";
    std::string command = "ssh-keygen -q -t ed25519 -N '' -C test -f '" + key_.string() + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
    known_hosts_ = dir_ / "known_hosts";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A port on 127.0.0.1 with a listener that never speaks (the kernel
  // completes the TCP handshake; no SSH banner ever comes). -1 on failure.
  int SilentListener() {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || listen(fd, 8) != 0)
      return -1;
    socklen_t length = sizeof address;
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    listener_ = fd;
    return ntohs(address.sin_port);
  }
  ~SftpClientTest() override {
    if (listener_ >= 0) close(listener_);
  }

  fs::path dir_, key_, known_hosts_;
  int listener_ = -1;
};

TEST_F(SftpClientTest, MissingKeyFileIsAUsageErrorNamingIt) {
  auto location = ParseSftpUrl("sftp://drop@127.0.0.1:1/in");
  ASSERT_TRUE(location);
  SftpOptions options{.private_key = (dir_ / "nope").string(),
                      .known_hosts = known_hosts_.string()};
  auto client = SftpClient::Connect(*location, options);
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(client.error().message().find((dir_ / "nope").string()), std::string::npos)
      << client.error().message();
}

TEST_F(SftpClientTest, AFileThatIsNotAKeyIsAUsageError) {
  std::string not_a_key = (dir_ / "known_hosts").string();
  std::system(("echo hello > '" + not_a_key + "'").c_str());
  auto location = ParseSftpUrl("sftp://drop@127.0.0.1:1/in");
  ASSERT_TRUE(location);
  auto client = SftpClient::Connect(
      *location, {.private_key = not_a_key, .known_hosts = known_hosts_.string()});
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(client.error().message().find("cannot use the private key file " + not_a_key),
            std::string::npos)
      << client.error().message();
}

TEST_F(SftpClientTest, RefusedConnectionIsTransientAndNamesTheUrl) {
  int port = SilentListener();
  ASSERT_GT(port, 0);
  close(listener_);  // nothing listens there any more
  listener_ = -1;
  std::string url = "sftp://drop@127.0.0.1:" + std::to_string(port) + "/in";
  auto location = ParseSftpUrl(url);
  ASSERT_TRUE(location);
  auto client = SftpClient::Connect(
      *location, {.private_key = key_.string(), .known_hosts = known_hosts_.string()});
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.error().message().rfind(url + ": cannot connect", 0), 0u)
      << client.error().message();
}

TEST_F(SftpClientTest, AServerThatNeverAnswersTimesOut) {
  int port = SilentListener();
  ASSERT_GT(port, 0);
  std::string url = "sftp://drop@127.0.0.1:" + std::to_string(port) + "/in";
  auto location = ParseSftpUrl(url);
  ASSERT_TRUE(location);
  auto start = std::chrono::steady_clock::now();
  auto client = SftpClient::Connect(*location, {.private_key = key_.string(),
                                                .known_hosts = known_hosts_.string(),
                                                .timeout = std::chrono::seconds(1)});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_FALSE(client);
  EXPECT_EQ(client.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client.error().message().rfind(url + ":", 0), 0u) << client.error().message();
  // Generous: only "it did not hang" is asserted, not how fast it gave up.
  EXPECT_LT(seconds, 120.0);
}

}  // namespace
}  // namespace citybooks
