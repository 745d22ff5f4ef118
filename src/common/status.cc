#include "deepvault/status.h"

namespace dv {

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kPayloadTooLarge: return 413;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kCancelled: return 499;
    case StatusCode::kInternal: return 500;
    case StatusCode::kDataLoss: return 500;
    case StatusCode::kUnimplemented: return 501;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kDeadlineExceeded: return 504;
  }
  return 500;
}

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kPayloadTooLarge: return "payload_too_large";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kDataLoss: return "data_loss";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDeadlineExceeded: return "deadline_exceeded";
  }
  return "unknown";
}

namespace {
const std::string& EmptyString() {
  static const std::string* kEmpty = new std::string();
  return *kEmpty;
}
const std::vector<std::string>& EmptyContext() {
  static const auto* kEmpty = new std::vector<std::string>();
  return *kEmpty;
}
}  // namespace

Status::Status(StatusCode code, std::string message) {
  if (code == StatusCode::kOk) return;
  rep_ = std::make_unique<Rep>(Rep{code, std::move(message), {}});
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  return *this;
}

const std::string& Status::message() const { return rep_ ? rep_->message : EmptyString(); }

const std::vector<std::string>& Status::context() const {
  return rep_ ? rep_->context : EmptyContext();
}

Status& Status::AddContext(std::string frame) & {
  if (rep_) rep_->context.push_back(std::move(frame));
  return *this;
}

Status&& Status::AddContext(std::string frame) && {
  if (rep_) rep_->context.push_back(std::move(frame));
  return std::move(*this);
}

std::string Status::Describe() const {
  if (!rep_) return "ok";
  std::string out;
  for (auto it = rep_->context.rbegin(); it != rep_->context.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += rep_->message;
  return out;
}

std::string Status::ToString() const {
  if (!rep_) return "ok";
  std::string out(StatusCodeName(rep_->code));
  out += ": ";
  out += Describe();
  return out;
}

#define DV_DEFINE_STATUS_CTOR(Name, Code) \
  Status Name(std::string message) { return Status(StatusCode::Code, std::move(message)); }
DV_DEFINE_STATUS_CTOR(InvalidArgument, kInvalidArgument)
DV_DEFINE_STATUS_CTOR(Unauthenticated, kUnauthenticated)
DV_DEFINE_STATUS_CTOR(PermissionDenied, kPermissionDenied)
DV_DEFINE_STATUS_CTOR(NotFound, kNotFound)
DV_DEFINE_STATUS_CTOR(AlreadyExists, kAlreadyExists)
DV_DEFINE_STATUS_CTOR(FailedPrecondition, kFailedPrecondition)
DV_DEFINE_STATUS_CTOR(PayloadTooLarge, kPayloadTooLarge)
DV_DEFINE_STATUS_CTOR(ResourceExhausted, kResourceExhausted)
DV_DEFINE_STATUS_CTOR(Cancelled, kCancelled)
DV_DEFINE_STATUS_CTOR(Internal, kInternal)
DV_DEFINE_STATUS_CTOR(DataLoss, kDataLoss)
DV_DEFINE_STATUS_CTOR(Unimplemented, kUnimplemented)
DV_DEFINE_STATUS_CTOR(Unavailable, kUnavailable)
DV_DEFINE_STATUS_CTOR(DeadlineExceeded, kDeadlineExceeded)
#undef DV_DEFINE_STATUS_CTOR

}  // namespace dv
