#include "dsiem/correlate/event_id_guard.h"

#include <functional>
#include <utility>

namespace dsiem::correlate {

namespace {

constexpr std::size_t kInitialSlots = 64;

// Spreads the hash over the table index bits (the low bits of std::hash need not be uniform).
std::size_t mix(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return static_cast<std::size_t>(key);
}

}  // namespace

uint64_t EventIdGuard::hash(std::string_view event_id) {
  const uint64_t h = std::hash<std::string_view>{}(event_id);
  return h == 0 ? 1 : h;  // 0 marks an empty slot
}

std::size_t EventIdGuard::find_slot(uint64_t key) const {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = mix(key) & mask;
  while (slots_[i].key != 0 && slots_[i].key != key) i = (i + 1) & mask;
  return i;
}

void EventIdGuard::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_ = std::vector<Slot>(old.empty() ? kInitialSlots : old.size() * 2);
  for (Slot& s : old) {
    if (s.key != 0) slots_[find_slot(s.key)] = std::move(s);
  }
}

void EventIdGuard::add(uint64_t key, uint64_t backlog_seq) {
  if ((size_ + 1) * 10 > slots_.size() * 7) grow();
  Slot& s = slots_[find_slot(key)];
  if (s.key == 0) {
    s.key = key;
    ++size_;
  }
  ++s.count;
  s.holder = static_cast<uint32_t>(backlog_seq);
}

void EventIdGuard::release(uint64_t key) {
  if (slots_.empty()) return;
  std::size_t i = find_slot(key);
  if (slots_[i].key == 0 || --slots_[i].count > 0) return;
  // Backward-shift deletion: pull later members of the probe run into the hole, so lookups
  // never need tombstones.
  const std::size_t mask = slots_.size() - 1;
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask; slots_[j].key != 0; j = (j + 1) & mask) {
    const std::size_t home = mix(slots_[j].key) & mask;
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool home_after_hole =
        hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_after_hole) {
      slots_[hole] = std::move(slots_[j]);
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  --size_;
}

bool EventIdGuard::held(uint64_t key, uint32_t* last_holder) const {
  if (slots_.empty()) return false;
  const Slot& s = slots_[find_slot(key)];
  if (s.key == 0) return false;
  if (last_holder) *last_holder = s.holder;
  return true;
}

}  // namespace dsiem::correlate
