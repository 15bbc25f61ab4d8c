#include "dsiem/alarm/file_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dsiem/common/log.h"

namespace dsiem::alarm {

namespace {

constexpr auto kLinger = std::chrono::milliseconds(2);
constexpr std::size_t kLingerBelowBytes = 64 * 1024;

int open_append(const std::filesystem::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

}  // namespace

FileWriter::FileWriter(std::filesystem::path logs_dir, std::size_t max_pending_bytes)
    : dir_(std::move(logs_dir)), max_pending_(max_pending_bytes) {
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    std::filesystem::create_directories(dir_, ec);
    if (ec) throw std::runtime_error("cannot create " + dir_.string() + ": " + ec.message());
    ::chmod(dir_.c_str(), 0700);
  }
  open_files();
  thread_ = std::thread([this] { run(); });
}

FileWriter::~FileWriter() {
  stop();
}

void FileWriter::open_files() {
  const auto alarms = dir_ / kAlarmsFile;
  const auto links = dir_ / kLinksFile;
  const int a = open_append(alarms);
  if (a < 0)
    throw std::runtime_error("cannot open " + alarms.string() + ": " + std::strerror(errno));
  const int l = open_append(links);
  if (l < 0) {
    ::close(a);
    throw std::runtime_error("cannot open " + links.string() + ": " + std::strerror(errno));
  }
  alarms_fd_ = a;
  links_fd_ = l;
}

void FileWriter::close_files() {
  if (alarms_fd_ >= 0) ::close(alarms_fd_);
  if (links_fd_ >= 0) ::close(links_fd_);
  alarms_fd_ = links_fd_ = -1;
}

void FileWriter::enqueue(std::string& buffer, std::string_view text, bool newline,
                         std::size_t lines, std::atomic<uint64_t>& counter) {
  std::unique_lock lock(mu_);
  space_cv_.wait(lock, [&] {
    return stopping_ || pending_alarms_.size() + pending_links_.size() < max_pending_;
  });
  buffer.append(text);
  if (newline) buffer.push_back('\n');
  counter.fetch_add(lines, std::memory_order_relaxed);
  ++enqueued_batches_;
  work_cv_.notify_one();
}

void FileWriter::write_link(std::string line) {
  enqueue(pending_links_, line, true, 1, link_lines_);
}

void FileWriter::write_links(std::string_view lines, std::size_t count) {
  enqueue(pending_links_, lines, false, count, link_lines_);
}

void FileWriter::write_alarm(std::string line) {
  enqueue(pending_alarms_, line, true, 1, alarm_lines_);
}

void FileWriter::reopen() {
  std::lock_guard lock(mu_);
  reopen_requested_ = true;
  work_cv_.notify_one();
}

void FileWriter::flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = enqueued_batches_;
  space_cv_.wait(lock, [&] { return written_batches_ >= target || !thread_.joinable(); });
}

void FileWriter::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    work_cv_.notify_one();
    space_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  close_files();
}

void FileWriter::write_all(int& fd, const std::filesystem::path& path, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    if (fd < 0) fd = open_append(path);
    const ssize_t n = fd < 0 ? -1 : ::write(fd, data.data() + done, data.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // Never drop a record: report and retry until the disk takes it.
    log::error("cannot write " + path.string() + ": " + std::strerror(errno) + ", retrying in 1s");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void FileWriter::run() {
  std::string alarms, links;
  for (;;) {
    uint64_t batches = 0;
    bool reopen = false;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] {
        return stopping_ || reopen_requested_ || !pending_alarms_.empty() ||
               !pending_links_.empty();
      });
      if (stopping_ && pending_alarms_.empty() && pending_links_.empty()) break;
      alarms.swap(pending_alarms_);
      links.swap(pending_links_);
      batches = enqueued_batches_;
      reopen = reopen_requested_;
      reopen_requested_ = false;
      space_cv_.notify_all();
    }
    if (reopen) {
      close_files();
      try {
        open_files();
        log::info("reopened alarm output files in " + dir_.string());
      } catch (const std::exception& e) {
        log::error(e.what());
      }
    }
    // Links first: an alarm's links are written before the alarm line they explain.
    if (!links.empty()) write_all(links_fd_, dir_ / kLinksFile, links);
    if (!alarms.empty()) write_all(alarms_fd_, dir_ / kAlarmsFile, alarms);
    const bool small = links.size() + alarms.size() < kLingerBelowBytes;
    links.clear();
    alarms.clear();
    {
      std::lock_guard lock(mu_);
      written_batches_ = batches;
      space_cv_.notify_all();
    }
    // Let lines gather after a small write: one write per batch rather than one per line under
    // load (each costs a wake-up and a syscall). Waiters (flush, a full queue) wait at most this.
    if (small) std::this_thread::sleep_for(kLinger);
  }
  std::lock_guard lock(mu_);
  written_batches_ = enqueued_batches_;
  space_cv_.notify_all();
}

}  // namespace dsiem::alarm
