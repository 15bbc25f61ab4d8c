#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dsiem::correlate {

// The duplicate guard of one directive (correlation.md: an event already held by one of the
// directive's backlogs never creates another backlog): how many backlogs hold each event ID,
// and the last one that took it (by its sequence number, truncated to 32 bits to keep a slot at
// 16 bytes: the guard holds one entry per event of every live backlog).
//
// Keys are 64-bit hashes of the event IDs, so the hot path (one add per appended event) costs no
// allocation and no string copy. Two distinct IDs sharing a hash would make the second look
// like a duplicate; with 64-bit hashes that needs about 4 billion live IDs in one directive to
// become likely, far beyond what one engine holds.
class EventIdGuard {
 public:
  static uint64_t hash(std::string_view event_id);

  // One more backlog (sequence number `backlog_seq`) holds the event.
  void add(uint64_t key, uint64_t backlog_seq);
  // One backlog less holds the event; the entry goes when none does.
  void release(uint64_t key);
  // Whether any backlog holds the event, and the (truncated) sequence number of the last one
  // that took it.
  bool held(uint64_t key, uint32_t* last_holder = nullptr) const;
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;  // 0: empty
    uint32_t count = 0;
    uint32_t holder = 0;
  };
  std::size_t find_slot(
      uint64_t key) const;  // the slot of `key`, or of the empty slot ending its run
  void grow();

  std::vector<Slot> slots_;  // power-of-two size, at most 70 % full
  std::size_t size_ = 0;
};

}  // namespace dsiem::correlate
