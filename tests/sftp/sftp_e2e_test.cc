// SFTP both ways, end to end: the real `citybooks` binary against a real
// OpenSSH sshd (sshd_server.h). `push` must deliver byte-identical files that
// appear only under their final names, refuse hosts whose key is unknown or
// changed, and fail cleanly on a refused key; the `sftp` source must land each
// new CSV file of the drop folder exactly once, and nothing when anything
// fails part-way.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <random>
#include <set>

#include "e2e_support.h"
#include "sftp/sshd_server.h"

namespace citybooks_e2e {
namespace {

constexpr char kDataset[] = "my-drop";
constexpr char kFacts[] = "SELECT COUNT(*) FROM my_drop.fact_payment";

std::string Sha256Of(const fs::path& file) {
  ProcessResult result = RunProcess({"/usr/bin/sha256sum", file.string()});
  EXPECT_EQ(result.exit_status, 0) << result.Describe();
  return result.out.substr(0, result.out.find(' '));
}

// "2024-01-31T12:00:00Z": how the manifest records a remote mtime.
std::string IsoMtime(const fs::path& file) {
  auto seconds = std::chrono::floor<std::chrono::seconds>(
      std::chrono::file_clock::to_sys(fs::last_write_time(file)));
  time_t time = static_cast<time_t>(seconds.time_since_epoch().count());
  tm utc{};
  gmtime_r(&time, &utc);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Every name in `folder`, hidden ones included, sorted.
std::vector<std::string> NamesIn(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The non-empty lines of a private key file's body (the secret itself).
std::vector<std::string> KeyBodyLines(const fs::path& key) {
  std::vector<std::string> lines;
  for (const std::string& line : Lines(ReadFile(key)))
    if (line.find("PRIVATE KEY") == std::string::npos) lines.push_back(line);
  return lines;
}

class SftpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = SshdServer::Start();
    ASSERT_TRUE(started) << "cannot start OpenSSH's sshd for the SFTP tests: " << started.error();
    sshd_ = std::move(*started);
  }

  fs::path Local(const std::string& name) const { return workspace_.dir() / name; }
  fs::path Remote(const std::string& name) const { return sshd_->remote_dir() / name; }
  std::string DropUrl() const { return sshd_->Url(sshd_->remote_dir()); }

  ProcessResult Push(const std::vector<std::string>& files, const fs::path& known_hosts,
                     const fs::path& key, const std::string& to = "") const {
    std::vector<std::string> args = {"push"};
    for (const std::string& file : files) args.push_back(Local(file).string());
    args.insert(args.end(), {"--to", to.empty() ? DropUrl() : to, "--key", key.string(),
                             "--known-hosts", known_hosts.string()});
    return workspace_.Citybooks(args);
  }
  ProcessResult Push(const std::vector<std::string>& files) const {
    return Push(files, sshd_->known_hosts(), sshd_->user_key());
  }

  // A config file with the my-drop dataset reading the server's folder.
  void WriteDropConfig(const fs::path& known_hosts) const {
    WriteFile(workspace_.dir() / "citybooks.toml",
              "[datasets.my-drop]\n"
              "source = \"sftp\"\n"
              "url = \"" +
                  DropUrl() +
                  "\"\n"
                  "key = \"" +
                  sshd_->user_key().string() +
                  "\"\n"
                  "known_hosts = \"" +
                  known_hosts.string() +
                  "\"\n"
                  "mapping = \"phoenix-checkbook\"\n");
  }
  ProcessResult WithConfig(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--config", (workspace_.dir() / "citybooks.toml").string()});
    return workspace_.Citybooks(args);
  }

  // Committed snapshots of my-drop, oldest first (manifest.json parsed).
  std::vector<nlohmann::json> Snapshots() const {
    std::vector<nlohmann::json> manifests;
    fs::path root = workspace_.raw_dir() / kDataset;
    if (!fs::exists(root)) return manifests;
    for (const auto& entry : fs::recursive_directory_iterator(root))
      if (entry.path().filename() == "manifest.json")
        manifests.push_back(nlohmann::json::parse(ReadFile(entry.path())));
    std::sort(manifests.begin(), manifests.end(), [](const auto& a, const auto& b) {
      return a["snapshot_id"].template get<std::string>() <
             b["snapshot_id"].template get<std::string>();
    });
    return manifests;
  }

  // Realistic Phoenix checkbook files, one per month (as the city publishes
  // them): `citybooks gen phoenix` split by payment month. Returns each
  // month's file name -> its data rows, for the first `months` months.
  std::map<std::string, int64_t> MonthlyFiles(int months) const {
    fs::path all = Local("all-months.csv");
    ProcessResult gen = workspace_.Citybooks(
        {"gen", "phoenix", "--rows", "3000", "--seed", "11", "--out", all.string()});
    EXPECT_EQ(gen.exit_status, 0) << gen.Describe();
    auto csv = ParseCsv(ReadFile(all));
    std::map<std::string, std::string> bodies;
    std::map<std::string, int64_t> rows;
    std::vector<std::string> order;
    for (size_t i = 1; i < csv.size(); ++i) {
      const std::string& date = csv[i][0];  // M/D/YYYY
      size_t first = date.find('/'), last = date.rfind('/');
      std::string month =
          date.substr(last + 1) + "-" + (first == 1 ? "0" : "") + date.substr(0, first);
      std::string name = "checkbook-" + month + ".csv";
      if (!bodies.count(name)) {
        if (static_cast<int>(order.size()) == months) break;
        order.push_back(name);
        bodies[name] = CsvLine(csv[0]);
      }
      bodies[name] += CsvLine(csv[i]);
      ++rows[name];
    }
    for (const auto& [name, body] : bodies) WriteFile(Local(name), body);
    return rows;
  }

  Workspace workspace_;
  std::unique_ptr<SshdServer> sshd_;
};

// --- push ---------------------------------------------------------------------------

TEST_F(SftpTest, PushDeliversByteIdenticalFilesAndNoTemporaryName) {
  std::string big(20 * 1024 * 1024, '\0');
  std::mt19937_64 random(2024);
  for (size_t i = 0; i + 8 <= big.size(); i += 8) {
    uint64_t value = random();
    std::memcpy(big.data() + i, &value, 8);
  }
  WriteFile(Local("big.bin"), big);
  WriteFile(Local("jan-2024.csv"), "a,b\n1,2\n");
  WriteFile(Local("empty.csv"), "");

  ProcessResult pushed = Push({"big.bin", "jan-2024.csv", "empty.csv"});
  ASSERT_EQ(pushed.exit_status, 0) << pushed.Describe() << "\nsshd log:\n" << sshd_->Log();
  EXPECT_EQ(NamesIn(sshd_->remote_dir()),
            (std::vector<std::string>{"big.bin", "empty.csv", "jan-2024.csv"}));
  std::vector<std::string> lines = Lines(pushed.out);
  ASSERT_EQ(lines.size(), 4u) << pushed.Describe();
  const std::vector<std::string> names = {"big.bin", "jan-2024.csv", "empty.csv"};
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    std::string sha = Sha256Of(Local(name));
    EXPECT_EQ(Sha256Of(Remote(name)), sha) << name;
    EXPECT_EQ(ReadFile(Remote(name)), ReadFile(Local(name))) << name;
    // One line per file: its name, its bytes, the start of its sha256.
    EXPECT_NE(lines[i].find(name), std::string::npos) << lines[i];
    EXPECT_NE(lines[i].find("sha256 " + sha.substr(0, 12)), std::string::npos) << lines[i];
  }
  EXPECT_NE(lines[0].find("20,971,520 bytes"), std::string::npos) << lines[0];
  EXPECT_NE(lines[2].find("0 bytes"), std::string::npos) << lines[2];
  EXPECT_NE(lines[3].find("3 files"), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find(DropUrl()), std::string::npos) << lines[3];
}

TEST_F(SftpTest, PushReplacesAFileAlreadyInTheFolder) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  ASSERT_EQ(Push({"jan.csv"}).exit_status, 0);
  WriteFile(Local("jan.csv"), "a,b\n1,2\n3,4\n");
  ProcessResult again = Push({"jan.csv"});
  ASSERT_EQ(again.exit_status, 0) << again.Describe();
  EXPECT_EQ(ReadFile(Remote("jan.csv")), "a,b\n1,2\n3,4\n");
  EXPECT_EQ(NamesIn(sshd_->remote_dir()), (std::vector<std::string>{"jan.csv"}));
}

TEST_F(SftpTest, PushRefusesAHostMissingFromKnownHosts) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  ProcessResult refused = Push({"jan.csv"}, sshd_->other_known_hosts(), sshd_->user_key());
  EXPECT_EQ(refused.exit_status, 1) << refused.Describe();
  ExpectOneErrorLine(refused, "[127.0.0.1]:" + std::to_string(sshd_->port()));
  EXPECT_NE(refused.err.find("not in the known_hosts file " + sshd_->other_known_hosts().string()),
            std::string::npos)
      << refused.Describe();
  EXPECT_NE(refused.err.find("ssh-keyscan -p " + std::to_string(sshd_->port()) + " 127.0.0.1"),
            std::string::npos)
      << refused.Describe();
  EXPECT_TRUE(NamesIn(sshd_->remote_dir()).empty());
  // Nothing was added to the known_hosts file.
  EXPECT_EQ(Lines(ReadFile(sshd_->other_known_hosts())).size(), 1u);
}

TEST_F(SftpTest, PushRefusesAHostWhoseKeyChanged) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  std::string before = ReadFile(sshd_->wrong_known_hosts());
  ProcessResult refused = Push({"jan.csv"}, sshd_->wrong_known_hosts(), sshd_->user_key());
  EXPECT_EQ(refused.exit_status, 1) << refused.Describe();
  ExpectOneErrorLine(refused, "[127.0.0.1]:" + std::to_string(sshd_->port()));
  EXPECT_NE(refused.err.find("differs from the one recorded in the known_hosts file " +
                             sshd_->wrong_known_hosts().string()),
            std::string::npos)
      << refused.Describe();
  EXPECT_TRUE(NamesIn(sshd_->remote_dir()).empty());
  EXPECT_EQ(ReadFile(sshd_->wrong_known_hosts()), before);
}

TEST_F(SftpTest, PushRefusesWhenTheKnownHostsFileIsMissing) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  fs::path missing = workspace_.dir() / "no-such-known-hosts";
  ProcessResult refused = Push({"jan.csv"}, missing, sshd_->user_key());
  EXPECT_EQ(refused.exit_status, 1) << refused.Describe();
  ExpectOneErrorLine(refused, missing.string() + " (the file does not exist)");
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(NamesIn(sshd_->remote_dir()).empty());
}

TEST_F(SftpTest, PushWithAnUnauthorisedKeyFailsAuthenticationWithoutShowingTheKey) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  ProcessResult refused = Push({"jan.csv"}, sshd_->known_hosts(), sshd_->stranger_key());
  EXPECT_EQ(refused.exit_status, 1) << refused.Describe();
  ExpectOneErrorLine(refused, "authentication failed");
  EXPECT_NE(refused.err.find(sshd_->stranger_key().string()), std::string::npos)
      << refused.Describe();
  EXPECT_NE(refused.err.find(DropUrl()), std::string::npos) << refused.Describe();
  for (const std::string& secret : KeyBodyLines(sshd_->stranger_key())) {
    EXPECT_EQ(refused.err.find(secret), std::string::npos);
    EXPECT_EQ(refused.out.find(secret), std::string::npos);
  }
  EXPECT_TRUE(NamesIn(sshd_->remote_dir()).empty());
}

TEST_F(SftpTest, PushOfAMissingLocalFileIsAUsageErrorAndSendsNothing) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  ProcessResult refused = Push({"jan.csv", "feb.csv"});
  EXPECT_EQ(refused.exit_status, 2) << refused.Describe();
  ExpectOneErrorLine(refused, Local("feb.csv").string() + ": no such file");
  EXPECT_TRUE(NamesIn(sshd_->remote_dir()).empty());
}

TEST_F(SftpTest, PushToAMissingFolderNamesItsUrl) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  std::string url = sshd_->Url(sshd_->remote_dir() / "nope");
  ProcessResult refused = Push({"jan.csv"}, sshd_->known_hosts(), sshd_->user_key(), url);
  EXPECT_EQ(refused.exit_status, 1) << refused.Describe();
  ExpectOneErrorLine(refused, url + ": no such folder");
  EXPECT_TRUE(NamesIn(sshd_->remote_dir()).empty());
}

TEST_F(SftpTest, PushGoesOnPastAFileThatFailsAndNamesIt) {
  WriteFile(Local("a.csv"), "a\n1\n");
  WriteFile(Local("b.csv"), "b\n2\n");
  WriteFile(Local("c.csv"), "c\n3\n");
  fs::create_directory(Remote("b.csv"));  // a folder cannot be replaced by a file
  ProcessResult partly = Push({"a.csv", "b.csv", "c.csv"});
  EXPECT_EQ(partly.exit_status, 1) << partly.Describe();
  std::vector<std::string> errors = Lines(partly.err);
  ASSERT_EQ(errors.size(), 2u) << partly.Describe();
  EXPECT_NE(errors[0].find(DropUrl() + "/b.csv"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("failed for " + Local("b.csv").string()), std::string::npos)
      << errors[1];
  EXPECT_NE(errors[1].find("the other 2 files arrived"), std::string::npos) << errors[1];
  EXPECT_EQ(ReadFile(Remote("a.csv")), "a\n1\n");
  EXPECT_EQ(ReadFile(Remote("c.csv")), "c\n3\n");
  EXPECT_TRUE(fs::is_directory(Remote("b.csv")));
  EXPECT_EQ(NamesIn(sshd_->remote_dir()), (std::vector<std::string>{"a.csv", "b.csv", "c.csv"}));
}

TEST_F(SftpTest, PushTakesTheKeyAndKnownHostsFromHomeByDefault) {
  fs::path home = workspace_.dir() / "home";
  fs::create_directories(home / ".ssh");
  fs::copy_file(sshd_->user_key(), home / ".ssh" / "id_ed25519");
  fs::permissions(home / ".ssh" / "id_ed25519", fs::perms::owner_read | fs::perms::owner_write);
  fs::copy_file(sshd_->known_hosts(), home / ".ssh" / "known_hosts");
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  ProcessResult pushed =
      workspace_.Citybooks({"push", Local("jan.csv").string(), "--to", DropUrl()},
                           {.cwd = {}, .env = {{"HOME", home.string()}}});
  ASSERT_EQ(pushed.exit_status, 0) << pushed.Describe();
  EXPECT_EQ(ReadFile(Remote("jan.csv")), "a,b\n1,2\n");
}

// --- the sftp source ---------------------------------------------------------------------

TEST_F(SftpTest, ExtractLandsEachNewCsvFileOnceAndLoadLoadsIt) {
  std::map<std::string, int64_t> months = MonthlyFiles(4);
  ASSERT_EQ(months.size(), 4u);
  std::vector<std::string> names;
  for (const auto& [name, rows] : months) names.push_back(name);
  // Three months are in the drop folder; the fourth arrives later.
  ASSERT_EQ(Push({names[0], names[1], names[2]}).exit_status, 0);
  // What must not be taken: other files, hidden and partial uploads, folders.
  WriteFile(Remote("README.txt"), "not data\n");
  WriteFile(Remote(".hidden.csv"), "a,b\n");
  WriteFile(Remote("next.csv.part"), "a,b\n");
  fs::create_directory(Remote("archive.csv"));
  WriteDropConfig(sshd_->known_hosts());

  ProcessResult first = WithConfig({"extract", kDataset});
  ASSERT_EQ(first.exit_status, 0) << first.Describe() << "\nsshd log:\n" << sshd_->Log();
  EXPECT_NE(first.out.find("3 files"), std::string::npos) << first.Describe();
  std::vector<nlohmann::json> snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 1u) << first.Describe();
  const nlohmann::json& files = snapshots[0]["files"];
  ASSERT_EQ(files.size(), 3u) << snapshots[0].dump(2);
  for (size_t i = 0; i < 3; ++i) {
    const nlohmann::json& file = files[i];
    EXPECT_EQ(file["name"], names[i]);
    EXPECT_EQ(file["rows"].get<int64_t>(), months[names[i]]);
    EXPECT_EQ(file["sha256"], Sha256Of(Local(names[i])));
    EXPECT_EQ(file["source_url"], DropUrl() + "/" + names[i]);
    EXPECT_EQ(file["source_item"], (sshd_->remote_dir() / names[i]).string());
    EXPECT_EQ(file["last_modified"], IsoMtime(Remote(names[i])));
  }
  ProcessResult loaded = WithConfig({"load", kDataset});
  ASSERT_EQ(loaded.exit_status, 0) << loaded.Describe();
  EXPECT_EQ(workspace_.QueryInt(kFacts), months[names[0]] + months[names[1]] + months[names[2]]);

  // Nothing new: nothing lands, and it says so.
  ProcessResult second = WithConfig({"extract", kDataset});
  ASSERT_EQ(second.exit_status, 0) << second.Describe();
  EXPECT_NE(second.out.find("nothing landed"), std::string::npos) << second.Describe();
  // Decided from the listing alone (same size and mtime), without a download.
  EXPECT_NE(second.out.find("3 already landed"), std::string::npos) << second.Describe();
  EXPECT_EQ(Snapshots().size(), 1u);

  // One more month arrives: only it lands, and loads.
  ASSERT_EQ(Push({names[3]}).exit_status, 0);
  ProcessResult third = WithConfig({"extract", kDataset});
  ASSERT_EQ(third.exit_status, 0) << third.Describe();
  snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 2u) << third.Describe();
  ASSERT_EQ(snapshots[1]["files"].size(), 1u) << snapshots[1].dump(2);
  EXPECT_EQ(snapshots[1]["files"][0]["name"], names[3]);
  loaded = WithConfig({"load", kDataset});
  ASSERT_EQ(loaded.exit_status, 0) << loaded.Describe();
  int64_t all_rows = 0;
  for (const auto& [name, rows] : months) all_rows += rows;
  EXPECT_EQ(workspace_.QueryInt(kFacts), all_rows);
}

TEST_F(SftpTest, ExtractTakesCsvNamesCaseInsensitively) {
  WriteFile(Local("FEB.CSV"),
            "Check/Payment Date,Dept. Descrptn,Vendor Name,Commitmt Item Name,"
            "Invoice Net Amt\n2/3/2022,Police,ACME INC,Supplies,12.00\n");
  ASSERT_EQ(Push({"FEB.CSV"}).exit_status, 0);
  WriteDropConfig(sshd_->known_hosts());
  ProcessResult extracted = WithConfig({"extract", kDataset});
  ASSERT_EQ(extracted.exit_status, 0) << extracted.Describe();
  auto snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 1u) << extracted.Describe();
  EXPECT_EQ(snapshots[0]["files"][0]["name"], "FEB.CSV");
}

TEST_F(SftpTest, ExtractOfAnIdenticalReuploadLandsNothing) {
  WriteFile(Local("jan.csv"),
            "Check/Payment Date,Dept. Descrptn,Vendor Name,Commitmt Item Name,"
            "Invoice Net Amt\n1/3/2022,Police,ACME INC,Supplies,12.00\n");
  ASSERT_EQ(Push({"jan.csv"}).exit_status, 0);
  WriteDropConfig(sshd_->known_hosts());
  ASSERT_EQ(WithConfig({"extract", kDataset}).exit_status, 0);
  ASSERT_EQ(Snapshots().size(), 1u);

  // The same bytes again, with another mtime: downloaded, compared, skipped.
  ASSERT_EQ(Push({"jan.csv"}).exit_status, 0);
  fs::last_write_time(Remote("jan.csv"),
                      fs::last_write_time(Remote("jan.csv")) - std::chrono::hours(1));
  ProcessResult same = WithConfig({"extract", kDataset});
  ASSERT_EQ(same.exit_status, 0) << same.Describe();
  EXPECT_NE(same.out.find("identical bytes"), std::string::npos) << same.Describe();
  EXPECT_NE(same.out.find("nothing landed"), std::string::npos) << same.Describe();
  EXPECT_EQ(Snapshots().size(), 1u);

  // Other bytes under the same name do land.
  WriteFile(Local("jan.csv"),
            ReadFile(Local("jan.csv")) + "1/4/2022,Police,ACME INC,Supplies,1.00\n");
  ASSERT_EQ(Push({"jan.csv"}).exit_status, 0);
  ProcessResult changed = WithConfig({"extract", kDataset});
  ASSERT_EQ(changed.exit_status, 0) << changed.Describe();
  auto snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 2u) << changed.Describe();
  EXPECT_EQ(snapshots[1]["files"][0]["rows"], 2);
}

TEST_F(SftpTest, ExtractFromAHostWithAnUnknownKeyLandsNothing) {
  WriteFile(Local("jan.csv"), "a,b\n1,2\n");
  ASSERT_EQ(Push({"jan.csv"}).exit_status, 0);
  WriteDropConfig(sshd_->wrong_known_hosts());
  ProcessResult refused = WithConfig({"extract", kDataset});
  EXPECT_EQ(refused.exit_status, 1) << refused.Describe();
  ExpectOneErrorLine(refused, sshd_->wrong_known_hosts().string());
  EXPECT_NE(refused.err.find("[127.0.0.1]:" + std::to_string(sshd_->port())), std::string::npos);
  EXPECT_TRUE(Snapshots().empty());
}

TEST_F(SftpTest, ExtractThatFailsPartWayLandsNothing) {
  std::map<std::string, int64_t> months = MonthlyFiles(2);
  std::vector<std::string> names;
  for (const auto& [name, rows] : months) names.push_back(name);
  ASSERT_EQ(Push(names).exit_status, 0);
  // Listed as a regular file, but every read fails (EIO): it sorts last, so
  // the two good files are already streamed into the snapshot when it fails.
  fs::create_symlink("/proc/self/mem", Remote("zz-unreadable.csv"));
  WriteDropConfig(sshd_->known_hosts());
  ProcessResult failed = WithConfig({"extract", kDataset});
  EXPECT_EQ(failed.exit_status, 1) << failed.Describe();
  ExpectOneErrorLine(failed, DropUrl() + "/zz-unreadable.csv");
  EXPECT_TRUE(Snapshots().empty());
  // Nothing half-written was left in the raw zone either.
  if (fs::exists(workspace_.raw_dir() / kDataset)) {
    for (const auto& entry : fs::recursive_directory_iterator(workspace_.raw_dir() / kDataset))
      EXPECT_FALSE(entry.is_regular_file()) << entry.path();
  }

  fs::remove(Remote("zz-unreadable.csv"));
  ProcessResult retried = WithConfig({"extract", kDataset});
  ASSERT_EQ(retried.exit_status, 0) << retried.Describe();
  auto snapshots = Snapshots();
  ASSERT_EQ(snapshots.size(), 1u);
  EXPECT_EQ(snapshots[0]["files"].size(), 2u);
}

TEST_F(SftpTest, ASftpDatasetWithoutAnSftpUrlIsAConfigurationError) {
  WriteFile(workspace_.dir() / "citybooks.toml",
            "[datasets.my-drop]\nsource = \"sftp\"\nurl = \"https://example.org/drop\"\n"
            "mapping = \"phoenix-checkbook\"\n");
  ProcessResult refused = WithConfig({"extract", kDataset});
  EXPECT_EQ(refused.exit_status, 2) << refused.Describe();
  ExpectOneErrorLine(refused, "datasets.my-drop.url");
}

}  // namespace
}  // namespace citybooks_e2e
