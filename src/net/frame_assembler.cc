#include "frame_assembler.h"

#include <algorithm>
#include <cstring>

namespace samsa::net {
namespace {

// The first allocation for a body whose bytes have not arrived yet.
constexpr size_t kMinBody = 4096;

}  // namespace

FrameAssembler::FrameAssembler(size_t max_frame_bytes, std::shared_ptr<RequestBudget> budget)
    : max_frame_bytes_(max_frame_bytes), budget_(std::move(budget)) {}

FrameAssembler::~FrameAssembler() { reset(); }

void FrameAssembler::reset() {
  if (reserved_ > 0 && budget_) budget_->release(reserved_);
  reserved_ = 0;
  std::vector<uint8_t>().swap(body_);
  have_ = 0;
  header_len_ = 0;
  in_body_ = false;
  frame_ready_ = false;
}

FrameAssembler::Status FrameAssembler::feed(const uint8_t* data, size_t n, size_t& consumed) {
  consumed = 0;
  if (!in_body_) {
    while (header_len_ < 4 && consumed < n) header_[header_len_++] = data[consumed++];
    if (header_len_ < 4) return Status::kNeedMore;
    announced_ = static_cast<int32_t>((uint32_t{header_[0]} << 24) | (uint32_t{header_[1]} << 16) |
                                      (uint32_t{header_[2]} << 8) | uint32_t{header_[3]});
    if (announced_ < 0) return Status::kNegative;
    if (static_cast<size_t>(announced_) > max_frame_bytes_) return Status::kTooLarge;
    Status s = start_body();
    if (s != Status::kNeedMore) return s;
    // Bytes already at hand are known to exist: size the buffer for them.
    grow_to(std::min(static_cast<size_t>(announced_), n - consumed));
  }
  size_t take = std::min(n - consumed, static_cast<size_t>(announced_) - have_);
  if (take > 0) {
    if (body_.size() < have_ + take) grow_to(have_ + take);
    std::memcpy(body_.data() + have_, data + consumed, take);
    have_ += take;
    consumed += take;
  }
  return commit(0);
}

FrameAssembler::Status FrameAssembler::start_body() {
  size_t size = static_cast<size_t>(announced_);
  if (budget_ && !budget_->try_reserve(size)) return Status::kBlocked;
  reserved_ = budget_ ? size : 0;
  in_body_ = true;
  have_ = 0;
  return commit(0) == Status::kFrame ? Status::kFrame : Status::kNeedMore;
}

bool FrameAssembler::retry_reserve() {
  if (in_body_ || header_len_ < 4) return true;
  return start_body() != Status::kBlocked;
}

void FrameAssembler::grow_to(size_t at_least) {
  size_t announced = static_cast<size_t>(announced_);
  if (body_.size() >= at_least) return;
  size_t target = std::min(announced, std::max({at_least, body_.size() * 2, kMinBody}));
  body_.reserve(target);  // exactly: resize() alone may double the capacity
  body_.resize(target);
}

std::span<uint8_t> FrameAssembler::body_space(size_t arrived) {
  if (body_.size() == have_) grow_to(have_ + std::max<size_t>(arrived, 1));
  return {body_.data() + have_, body_.size() - have_};
}

FrameAssembler::Status FrameAssembler::commit(size_t n) {
  have_ += n;
  if (in_body_ && have_ == static_cast<size_t>(announced_)) {
    frame_ready_ = true;
    return Status::kFrame;
  }
  return Status::kNeedMore;
}

FramePtr FrameAssembler::take_frame() {
  auto* bytes = new std::vector<uint8_t>(std::move(body_));
  bytes->resize(have_);  // never grows: the buffer is capped at the announced size
  FramePtr frame;
  if (reserved_ > 0) {
    frame = FramePtr(bytes, [budget = budget_, n = reserved_](const std::vector<uint8_t>* v) {
      delete v;
      budget->release(n);
    });
  } else {
    frame = FramePtr(bytes);
  }
  std::vector<uint8_t>().swap(body_);
  reserved_ = 0;
  have_ = 0;
  header_len_ = 0;
  in_body_ = false;
  frame_ready_ = false;
  return frame;
}

}  // namespace samsa::net
