#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "dsiem/alarm/record_sink.h"

namespace dsiem::alarm {

// Writes siem_alarms.json and siem_alarm_events.json as JSON lines from one writer thread.
// Producers append to in-memory buffers and block (back-pressure) while more than
// `max_pending_bytes` wait to be written: a record is never dropped. A failed write is logged
// and retried. Thread-safe.
class FileWriter final : public RecordSink {
 public:
  static constexpr const char* kAlarmsFile = "siem_alarms.json";
  static constexpr const char* kLinksFile = "siem_alarm_events.json";

  // Creates `logs_dir` (mode 0700, with parents) and opens both files for appending (created
  // with mode 0600). Throws std::runtime_error naming the file on failure.
  explicit FileWriter(std::filesystem::path logs_dir,
                      std::size_t max_pending_bytes = 64 * 1024 * 1024);
  ~FileWriter() override;

  void write_link(std::string line) override;
  void write_links(std::string_view lines, std::size_t count) override;
  void write_alarm(std::string line) override;

  // Reopens both files (log rotation on SIGHUP); takes effect before the next write.
  void reopen();
  // Blocks until every line queued before the call is written.
  void flush();
  // Writes what is queued, then closes the files. Idempotent.
  void stop();

  uint64_t alarm_lines() const { return alarm_lines_.load(); }
  uint64_t link_lines() const { return link_lines_.load(); }

 private:
  // Appends `text` (`lines` complete lines, or one line without its newline when `newline`).
  void enqueue(std::string& buffer, std::string_view text, bool newline, std::size_t lines,
               std::atomic<uint64_t>& counter);
  void run();
  void open_files();
  void close_files();
  void write_all(int& fd, const std::filesystem::path& path, const std::string& data);

  std::filesystem::path dir_;
  std::size_t max_pending_;
  std::mutex mu_;
  std::condition_variable work_cv_;   // writer waits for data
  std::condition_variable space_cv_;  // producers wait for room / flushers for completion
  std::string pending_alarms_;
  std::string pending_links_;
  uint64_t enqueued_batches_ = 0;
  uint64_t written_batches_ = 0;
  bool stopping_ = false;
  bool reopen_requested_ = false;
  int alarms_fd_ = -1;
  int links_fd_ = -1;
  std::atomic<uint64_t> alarm_lines_{0};
  std::atomic<uint64_t> link_lines_{0};
  std::thread thread_;
};

}  // namespace dsiem::alarm
