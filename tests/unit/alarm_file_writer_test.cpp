#include "dsiem/alarm/file_writer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "unit/test_support.h"

namespace {

using dsiem::alarm::FileWriter;
using dsiem::test::read_file;
using dsiem::test::TempDir;
namespace fs = std::filesystem;

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 0777;
}

TEST(FileWriter, CreatesPrivateDirectoryAndFiles) {
  TempDir tmp;
  const fs::path logs = tmp.path() / "base" / "logs";
  FileWriter w(logs);
  ASSERT_TRUE(fs::is_directory(logs));
  EXPECT_EQ(mode_of(logs), 0700u);
  ASSERT_TRUE(fs::exists(logs / "siem_alarms.json"));
  ASSERT_TRUE(fs::exists(logs / "siem_alarm_events.json"));
  EXPECT_EQ(mode_of(logs / "siem_alarms.json"), 0600u);
  EXPECT_EQ(mode_of(logs / "siem_alarm_events.json"), 0600u);
  EXPECT_EQ(read_file(logs / "siem_alarms.json"), "");
  w.stop();
}

TEST(FileWriter, WritesLinesInOrderAndFlushes) {
  TempDir tmp;
  FileWriter w(tmp.path());
  std::string expected_links, expected_alarms;
  for (int i = 0; i < 200; ++i) {
    const std::string link =
        R"({"alarm_id":"a","stage":1,"event_id":")" + std::to_string(i) + "\"}";
    const std::string alarm = R"({"alarm_id":"a","n":)" + std::to_string(i) + "}";
    w.write_link(link);
    w.write_alarm(alarm);
    expected_links += link + "\n";
    expected_alarms += alarm + "\n";
  }
  w.flush();
  EXPECT_EQ(read_file(tmp.path() / FileWriter::kLinksFile), expected_links);
  EXPECT_EQ(read_file(tmp.path() / FileWriter::kAlarmsFile), expected_alarms);
  EXPECT_EQ(w.link_lines(), 200u);
  EXPECT_EQ(w.alarm_lines(), 200u);
  w.flush();  // nothing pending: returns at once
  w.stop();
}

// A shard's batch of link lines arrives as one block, between single lines of either kind.
TEST(FileWriter, WritesBlocksOfLinkLinesInOrder) {
  TempDir tmp;
  FileWriter w(tmp.path());
  w.write_link(R"({"n":1})");
  w.write_links("{\"n\":2}\n{\"n\":3}\n", 2);
  w.write_alarm(R"({"a":1})");
  w.write_links("{\"n\":4}\n", 1);
  w.write_links("", 0);
  w.flush();
  EXPECT_EQ(read_file(tmp.path() / FileWriter::kLinksFile),
            "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
  EXPECT_EQ(read_file(tmp.path() / FileWriter::kAlarmsFile), "{\"a\":1}\n");
  EXPECT_EQ(w.link_lines(), 4u);
  EXPECT_EQ(w.alarm_lines(), 1u);
}

// Sinks that only take single lines get a block line by line.
TEST(RecordSink, BlocksReachSingleLineSinksLineByLine) {
  dsiem::test::CapturingSink sink;
  sink.write_links("{\"n\":1}\n{\"n\":2}\n", 2);
  EXPECT_EQ(sink.links(), (std::vector<std::string>{R"({"n":1})", R"({"n":2})"}));
}

TEST(FileWriter, AppendsToExistingFiles) {
  TempDir tmp;
  tmp.write("siem_alarms.json", "old\n");
  {
    FileWriter w(tmp.path());
    w.write_alarm("new");
    w.flush();
  }
  EXPECT_EQ(read_file(tmp.path() / "siem_alarms.json"), "old\nnew\n");
}

TEST(FileWriter, StopWritesWhatIsQueued) {
  TempDir tmp;
  {
    FileWriter w(tmp.path());
    for (int i = 0; i < 50; ++i) w.write_alarm("line" + std::to_string(i));
    w.stop();
    std::string expected;
    for (int i = 0; i < 50; ++i) expected += "line" + std::to_string(i) + "\n";
    EXPECT_EQ(read_file(tmp.path() / "siem_alarms.json"), expected);
    w.stop();  // idempotent
  }
  // The destructor also drains.
  TempDir tmp2;
  {
    FileWriter w(tmp2.path());
    w.write_link("l1");
    w.write_link("l2");
  }
  EXPECT_EQ(read_file(tmp2.path() / "siem_alarm_events.json"), "l1\nl2\n");
}

TEST(FileWriter, ReopenAfterRenameWritesToANewFile) {
  TempDir tmp;
  FileWriter w(tmp.path());
  w.write_alarm("before");
  w.write_link("link-before");
  w.flush();
  fs::rename(tmp.path() / "siem_alarms.json", tmp.path() / "siem_alarms.json.1");
  fs::rename(tmp.path() / "siem_alarm_events.json", tmp.path() / "siem_alarm_events.json.1");
  w.reopen();
  w.write_alarm("after");
  w.write_link("link-after");
  w.flush();
  EXPECT_EQ(read_file(tmp.path() / "siem_alarms.json.1"), "before\n");
  EXPECT_EQ(read_file(tmp.path() / "siem_alarms.json"), "after\n");
  EXPECT_EQ(read_file(tmp.path() / "siem_alarm_events.json.1"), "link-before\n");
  EXPECT_EQ(read_file(tmp.path() / "siem_alarm_events.json"), "link-after\n");
  EXPECT_EQ(mode_of(tmp.path() / "siem_alarms.json"), 0600u);
  w.stop();
}

TEST(FileWriter, BackPressureNeverDropsLines) {
  TempDir tmp;
  FileWriter w(tmp.path(), /*max_pending_bytes=*/16);
  constexpr int kThreads = 4;
  constexpr int kLines = 300;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&w, t] {
      for (int i = 0; i < kLines; ++i) {
        w.write_alarm("t" + std::to_string(t) + "-" + std::to_string(i));
      }
    });
  }
  for (auto& p : producers) p.join();
  w.flush();
  const std::string content = read_file(tmp.path() / "siem_alarms.json");
  // Every line is there, and each producer's lines keep their order.
  std::vector<int> next(kThreads, 0);
  std::size_t pos = 0;
  int count = 0;
  while (pos < content.size()) {
    const auto nl = content.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    const std::string line = content.substr(pos, nl - pos);
    const auto dash = line.find('-');
    const int t = std::stoi(line.substr(1, dash - 1));
    EXPECT_EQ(std::stoi(line.substr(dash + 1)), next[t]) << line;
    next[t] = std::stoi(line.substr(dash + 1)) + 1;
    ++count;
    pos = nl + 1;
  }
  EXPECT_EQ(count, kThreads * kLines);
  EXPECT_EQ(w.alarm_lines(), static_cast<uint64_t>(kThreads * kLines));
}

TEST(FileWriter, UnwritableDirectoryThrows) {
  TempDir tmp;
  tmp.write("file", "x");
  EXPECT_THROW(FileWriter(tmp.path() / "file" / "logs"), std::runtime_error);
}

}  // namespace
