#pragma once
// What a coordinator (group or transaction) answers when its write to its
// own partition failed, the one place this mapping lives: retriable
// replication trouble is COORDINATOR_NOT_AVAILABLE (the client retries the
// same broker), a partition this node no longer leads is NOT_COORDINATOR
// (the client looks the coordinator up again). A write too large gets
// `too_large`: the group coordinator answers INVALID_COMMIT_OFFSET_SIZE,
// the transaction coordinator UNKNOWN_SERVER_ERROR, as in Kafka.
#include "samsa/protocol/error_code.h"

namespace samsa::broker {

inline protocol::ErrorCode coordinator_write_error(protocol::ErrorCode e, protocol::ErrorCode too_large) {
  using protocol::ErrorCode;
  switch (e) {
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
    case ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case ErrorCode::REQUEST_TIMED_OUT:
      return ErrorCode::COORDINATOR_NOT_AVAILABLE;
    case ErrorCode::NOT_LEADER_OR_FOLLOWER:
    case ErrorCode::FENCED_LEADER_EPOCH:
    case ErrorCode::KAFKA_STORAGE_ERROR:
      return ErrorCode::NOT_COORDINATOR;
    case ErrorCode::MESSAGE_TOO_LARGE:
    case ErrorCode::RECORD_LIST_TOO_LARGE:
      return too_large;
    default:
      return e;
  }
}

}  // namespace samsa::broker
