#pragma once
// Bit sets of ACL operations (Kafka's AclOperation codes) reported in
// Metadata/DescribeCluster when a client asks for authorized operations.
// Without an authorizer every operation a resource supports is allowed.
#include <cstdint>
#include <initializer_list>

namespace samsa::broker {

enum class AclOperation : int8_t {
  kRead = 3, kWrite = 4, kCreate = 5, kDelete = 6, kAlter = 7, kDescribe = 8,
  kClusterAction = 9, kDescribeConfigs = 10, kAlterConfigs = 11, kIdempotentWrite = 12,
};

constexpr int32_t operations_mask(std::initializer_list<AclOperation> ops) {
  int32_t mask = 0;
  for (auto op : ops) mask |= int32_t{1} << static_cast<int>(op);
  return mask;
}

constexpr int32_t kClusterOperations = operations_mask(
    {AclOperation::kCreate, AclOperation::kAlter, AclOperation::kDescribe, AclOperation::kClusterAction,
     AclOperation::kDescribeConfigs, AclOperation::kAlterConfigs, AclOperation::kIdempotentWrite});

constexpr int32_t kTopicOperations = operations_mask(
    {AclOperation::kRead, AclOperation::kWrite, AclOperation::kCreate, AclOperation::kDelete, AclOperation::kAlter,
     AclOperation::kDescribe, AclOperation::kDescribeConfigs, AclOperation::kAlterConfigs});

constexpr int32_t kGroupOperations =
    operations_mask({AclOperation::kRead, AclOperation::kDescribe, AclOperation::kDelete});

// Kafka's sentinel for "not requested".
constexpr int32_t kOperationsNotRequested = INT32_MIN;

}  // namespace samsa::broker
