#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dsiem/common/flat_table.h"

namespace dsiem::correlate {

// The duplicate guard of an engine's directives (correlation.md: an event already held by one
// of a directive's backlogs never creates another backlog of that directive): how many
// backlogs hold each (directive, event ID), and the last one that took it (by its sequence
// number, truncated to 32 bits to keep a slot at 16 bytes: the guard holds one entry per
// event of every live backlog).
//
// Keys are 64-bit hashes of the directive and the event ID, so the hot path (one add per
// appended event) costs no allocation and no string copy. Two distinct pairs sharing a hash
// would make the second look like a duplicate; with 64-bit hashes that needs about 4 billion
// live entries to become likely, far beyond what one engine holds.
class EventIdGuard {
 public:
  // The hash of an event ID, and the key of that event within the directive at position
  // `directive`.
  static uint64_t hash(std::string_view event_id);
  static uint64_t key(uint64_t event_hash, uint32_t directive) {
    const uint64_t k =
        event_hash ^ ((static_cast<uint64_t>(directive) + 1) * 0x9E3779B97F4A7C15ULL);
    return k == 0 ? 1 : k;  // 0 marks an empty slot
  }
  static uint64_t key(std::string_view event_id, uint32_t directive) {
    return key(hash(event_id), directive);
  }

  // One more backlog (sequence number `backlog_seq`) holds the event.
  void add(uint64_t key, uint64_t backlog_seq);
  // One backlog less holds the event; the entry goes when none does.
  void release(uint64_t key);
  // Whether any backlog holds the event, and the (truncated) sequence number of the last one
  // that took it.
  bool held(uint64_t key, uint32_t* last_holder = nullptr) const;
  // Starts loading what add/held of `key` will touch.
  void prefetch(uint64_t key) const { slots_.prefetch(key); }
  std::size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    uint64_t key = 0;  // 0: empty
    uint32_t count = 0;
    uint32_t holder = 0;
  };
  struct Traits {
    using Key = uint64_t;
    static bool empty(const Slot& s) { return s.key == 0; }
    static bool holds(const Slot& s, uint64_t key) { return s.key == key; }
    static uint64_t hash(const Slot& s) { return s.key; }
    static void claim(Slot& s, uint64_t key) { s.key = key; }
  };
  FlatTable<Slot, Traits> slots_;
};

}  // namespace dsiem::correlate
