#pragma once
// The active controller's view of broker sessions (Kafka's
// BrokerHeartbeatManager): when each broker last heartbeated, the metadata
// offset it reported, and the offset at which it entered controlled
// shutdown. This state is not in the metadata log: a controller that takes
// over starts it afresh with reset(), so every registered broker gets a full
// session from that moment, as in Kafka.
//
// Time is a monotonic clock in milliseconds passed in by the caller.
// Threading: not thread-safe; the controller uses it from its one thread.
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "samsa/broker/metadata_image.h"

namespace samsa::broker::metadata {

class BrokerHeartbeatManager {
 public:
  explicit BrokerHeartbeatManager(int64_t session_timeout_ms) : session_timeout_ms_(session_timeout_ms) {}

  int64_t session_timeout_ms() const { return session_timeout_ms_; }

  // Forgets everything and gives each broker registered in `image` a fresh
  // session starting at `now_ms`.
  void reset(const MetadataImage& image, int64_t now_ms);
  // A heartbeat (or registration) from the broker at `now_ms`;
  // `metadata_offset` is the offset it has applied (-1: unknown).
  void touch(int32_t broker_id, int64_t now_ms, int64_t metadata_offset);
  void remove(int32_t broker_id);
  // Starts a session at `now_ms` for every broker of `image` not tracked yet
  // (registered through a path that did not touch it).
  void track_new(const MetadataImage& image, int64_t now_ms);

  // Kafka's hasValidSession: the broker is unfenced in `image` and has been
  // heard from within the session timeout. A fenced broker has no session
  // that could stop another incarnation from registering. Unlike Kafka, a
  // session that reset() only presumed (no heartbeat or registration since
  // this controller took over) does not block one either: a node restarted
  // after a crash, often the reason for the takeover, registers at once
  // instead of after broker.session.timeout.ms. Expiry still counts it.
  bool has_valid_session(const MetadataImage& image, int32_t broker_id, int64_t now_ms) const;
  // Unfenced brokers of `image` whose session has expired, in id order.
  std::vector<int32_t> expired(const MetadataImage& image, int64_t now_ms) const;

  // Remembers the offset of the record that put the broker into controlled
  // shutdown (the first time only).
  void set_controlled_shutdown_offset(int32_t broker_id, int64_t offset);
  std::optional<int64_t> controlled_shutdown_offset(int32_t broker_id) const;
  // True when every active broker (unfenced, not shutting down) other than
  // `broker_id` reported a metadata offset >= `offset`.
  bool others_caught_up(const MetadataImage& image, int32_t broker_id, int64_t offset) const;

  std::optional<int64_t> last_contact_ms(int32_t broker_id) const;
  int64_t metadata_offset(int32_t broker_id) const;  // -1 when unknown

 private:
  struct State {
    int64_t last_contact_ms = 0;
    bool heard_from = false;  // touched since reset()
    int64_t metadata_offset = -1;
    std::optional<int64_t> controlled_shutdown_offset;
  };

  int64_t session_timeout_ms_;
  std::map<int32_t, State> brokers_;
};

}  // namespace samsa::broker::metadata
