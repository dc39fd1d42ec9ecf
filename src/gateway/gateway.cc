#include "gateway/gateway.h"

#include "common/logging.h"
#include "gateway/router.h"
#include "gateway/xml.h"

namespace strata::gateway {

Status GatewayOptions::Validate() const {
  if (access_key.empty() || secret_key.empty()) {
    return Status::InvalidArgument(
        "root credentials are required: --access-key and --secret-key (or STRATA_ACCESS_KEY "
        "and STRATA_SECRET_KEY, or --secret-key-file)");
  }
  if (ValidateUserName(access_key).ok() == false) {
    return Status::InvalidArgument("--access-key: only letters, digits, '_', '.' and '-'");
  }
  if (region.empty()) return Status::InvalidArgument("--region must not be empty");
  return http.Validate();
}

Result<std::unique_ptr<Gateway>> Gateway::Start(client::Client* client,
                                                const GatewayOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  std::unique_ptr<Gateway> g(new Gateway());
  g->client_ = client;
  g->options_ = options;
  meta::Context ctx;
  ctx.uid = options.uid;
  ctx.gid = options.gid;
  ASSIGN_OR_RETURN(g->fs_, ObjectFs::Open(&client->volume(), ctx));
  User root;
  root.name = options.access_key;
  root.secret = options.secret_key;
  root.root = true;
  g->users_ = std::make_unique<UserStore>(client->volume().meta(), &client->clock(), root);
  Gateway* self = g.get();
  ASSIGN_OR_RETURN(g->server_, HttpServer::Start(options.http, [self](HttpRequest& req,
                                                                      HttpResponse& res) {
                     self->Handle(req, res);
                   }));
  return g;
}

Gateway::~Gateway() { Stop(); }

void Gateway::Stop() {
  if (server_) server_->Stop();
}

void Gateway::CountRequest(const std::string& op, int status, double seconds) {
  MetricsRegistry& m = client_->metrics();
  Labels l = {{"op", op}};
  if (auto c = m.GetCounter("strata_gateway_requests_total", "S3 requests", l); c.ok()) (*c)->Inc();
  if (status >= 400) {
    Labels le = {{"op", op}, {"status", std::to_string(status)}};
    if (auto c = m.GetCounter("strata_gateway_errors_total", "S3 requests that failed", le);
        c.ok()) {
      (*c)->Inc();
    }
  }
  if (auto h = m.GetHistogram("strata_gateway_request_seconds", "S3 request latency", l);
      h.ok()) {
    (*h)->Observe(seconds);
  }
}

void Gateway::Handle(HttpRequest& req, HttpResponse& res) {
  Clock& clock = client_->clock();
  const int64_t start = clock.MonotonicNanos();
  S3Request r;
  r.http = &req;
  r.res = &res;
  r.fs = fs_.get();
  r.clock = &clock;
  r.region = options_.region;
  r.request_id = RandomId().substr(0, 16);
  res.Header("x-amz-request-id", r.request_id);
  res.Header("Server", "StrataFS");

  OpResult err;
  if (!SplitPath(req.path, &r.bucket, &r.key)) {
    err = InvalidRequest("the path must begin with '/'");
  }
  if (!err) {
    auto v = VerifySignature(
        req,
        [this](const std::string& key) -> std::optional<std::string> {
          auto u = users_->Find(key);
          if (!u) return std::nullopt;
          return u->secret;
        },
        r.NowSeconds());
    if (auto* e = std::get_if<S3Error>(&v)) {
      err = *e;
    } else {
      r.auth = std::get<VerifiedRequest>(v);
    }
  }
  if (!err) {
    if (r.auth.anonymous) {
      // Public prefixes: an anonymous read of exactly this key, nothing else.
      if ((req.method == "GET" || req.method == "HEAD") && !r.key.empty() && req.query.empty() &&
          CheckBucketName(r.bucket) == std::nullopt && users_->IsPublic(r.bucket, r.key)) {
        r.user = User{"anonymous", "", {Grant{r.bucket, r.key, true}}, false};
      } else {
        err = AccessDenied();
      }
    } else {
      r.user = users_->Find(r.auth.access_key);
      if (!r.user) err = InvalidAccessKeyId();
    }
  }
  std::string op = OperationName(r);
  if (!err) err = Route(r);
  if (err) {
    res.status = err->http;
    res.content_type = "application/xml";
    res.body = RenderError(*err, req.path, r.request_id);
    res.stream_length = 0;
    res.produce = nullptr;
    if (res.release) {
      res.release();
      res.release = nullptr;
    }
    if (err->http >= 500) {
      LOG_WARN_EVERY("gateway: {} {} -> {} {}: {}", req.method, req.path, err->http, err->code,
                     err->message);
    }
  }
  CountRequest(op, res.status, (clock.MonotonicNanos() - start) / 1e9);
}

}  // namespace strata::gateway
