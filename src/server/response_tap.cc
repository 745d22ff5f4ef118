#include "server/response_tap.h"

namespace dv::server {

ResponseTap::ResponseTap(std::shared_ptr<Responder> inner, std::vector<HttpHeader> extra_headers,
                         uint64_t record_limit, FinishFn on_finish)
    : inner_(std::move(inner)),
      extra_headers_(std::move(extra_headers)),
      record_limit_(record_limit),
      on_finish_(std::move(on_finish)) {
  tapped_.recorded = record_limit_ > 0;
}

void ResponseTap::Send(HttpResponse response) {
  {
    std::lock_guard lock(mu_);
    tapped_.response.status = response.status;
    tapped_.response.content_type = response.content_type;
    tapped_.response.headers = response.headers;
    if (tapped_.recorded && response.body.size() <= record_limit_) {
      tapped_.response.body = response.body;
    } else {
      tapped_.recorded = false;
    }
  }
  // Report first: a client that gets the answer and asks again at once must find it cached.
  Finish();
  for (const auto& h : extra_headers_) response.headers.push_back(h);
  inner_->Send(std::move(response));
}

void ResponseTap::StartStream(HttpResponse response) {
  {
    std::lock_guard lock(mu_);
    tapped_.response.status = response.status;
    tapped_.response.content_type = response.content_type;
    tapped_.response.headers = response.headers;
    tapped_.response.stream = true;
  }
  for (const auto& h : extra_headers_) response.headers.push_back(h);
  inner_->StartStream(std::move(response));
}

bool ResponseTap::Write(std::string chunk) {
  if (!chunk.empty()) {
    std::lock_guard lock(mu_);
    tapped_.last_chunk = chunk;
    if (tapped_.recorded) {
      recorded_bytes_ += chunk.size();
      if (recorded_bytes_ <= record_limit_) {
        tapped_.response.chunks.push_back(chunk);
      } else {
        tapped_.recorded = false;
        tapped_.response.chunks.clear();
      }
    }
  }
  return inner_->Write(std::move(chunk));
}

void ResponseTap::End() {
  Finish();  // before the final chunk, as in Send
  inner_->End();
}

void ResponseTap::Finish() {
  TappedResponse done;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    tapped_.client_gone = inner_->Gone();
    done = std::move(tapped_);
  }
  if (on_finish_) on_finish_(done);
}

}  // namespace dv::server
