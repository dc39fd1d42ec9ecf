// The composition root builds a working volume from one options tree and counts what the
// layers do into its registry.
#include "client/client.h"
#include "client/metrics_server.h"
#include "common/metrics_text.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <map>

#include "meta/kv/mem_kv.h"

namespace strata::client {
namespace {

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltins(registries_);
    engine_ = std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open()));
    meta::VolumeFormat f;
    f.name = "vol";
    f.uuid = "client-test";
    f.storage_url = "mem://client-test";
    f.block_size = 64 << 10;
    f.trash_days = 0;
    ASSERT_TRUE(meta::Meta::Format(*engine_, f, false).ok());
    options_.meta_url = "memkv://";
    options_.background_jobs = false;
  }
  Registries registries_;
  std::shared_ptr<kv::KvEngine> engine_;
  ClientOptions options_;
};

TEST_F(ClientTest, BuildsAVolumeAndCountsWhatItDoes) {
  auto c = Client::OpenOnEngine(engine_, registries_, options_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  vfs::Volume& v = (*c)->volume();
  meta::Context root;
  auto cr = v.Create(root, vfs::kRootIno, "f", 0644, O_RDWR);
  ASSERT_TRUE(cr.ok()) << cr.status().ToString();
  std::string data(200 << 10, 'z');  // 4 blocks of 64 KiB
  ASSERT_TRUE(v.Write(root, cr->entry.ino, cr->open.fh, 0, data).ok());
  ASSERT_TRUE(v.Flush(root, cr->entry.ino, cr->open.fh, 1).ok());
  ASSERT_TRUE(v.Release(cr->entry.ino, cr->open.fh).ok());

  std::string text = (*c)->RenderMetrics();
  auto parsed = ParseMetricsText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  MetricsSnapshot m(*parsed);
  // Every series carries the client's volume (and mount point, "" for a tool).
  const std::map<std::string, std::string> vol = {{"volume", "vol"}, {"mount_point", ""}};
  auto with = [&](std::map<std::string, std::string> l) {
    l.insert(vol.begin(), vol.end());
    return l;
  };
  EXPECT_EQ(m.Sum("strata_object_requests_total", with({{"op", "put"}})), 4) << text;
  // The stored bodies: the data plus each block's small checksum trailer.
  double put_bytes = m.Sum("strata_object_bytes_total", with({{"op", "put"}}));
  EXPECT_GE(put_bytes, 200u << 10);
  EXPECT_LE(put_bytes, (200u << 10) + 4 * 64);
  EXPECT_TRUE(m.Has("strata_object_errors_total"));
  EXPECT_EQ(m.Sum("strata_object_errors_total", with({{"op", "put"}})), 0);
  EXPECT_GT(m.Sum("strata_meta_transactions_total", vol), 0) << text;
  EXPECT_EQ(m.Sum("strata_buffer_bytes", vol), 0);  // everything committed
  EXPECT_EQ(m.Sum("strata_object_requests_in_flight", with({{"op", "put"}})), 0);
  EXPECT_EQ(m.Sum("strata_open_files", vol), 0);
  EXPECT_EQ(m.Sum("strata_sessions", vol), 1);  // its own
  // One series per tier of the block chain, by the tier's name.
  for (const char* tier : {"memory", "store"}) {
    bool found = false;
    for (const MetricSample& x : m.samples()) {
      found = found || (x.name == "strata_cache_hits_total" && x.labels.at("tier") == tier);
    }
    EXPECT_TRUE(found) << tier << "\n" << text;
  }
  EXPECT_EQ((*c)->store_metrics().Snapshot(object::StoreOp::kPut).calls, 4u);
}

TEST_F(ClientTest, OptionsAreValidatedOnceNamingTheFlag) {
  ClientOptions o = options_;
  o.io.io_retries = 0;
  EXPECT_NE(Client::OpenOnEngine(engine_, registries_, o).status().ToString().find("--io-retries"),
            std::string::npos);
  o = options_;
  o.io.meta_timeout = std::chrono::milliseconds(0);
  EXPECT_EQ(Client::OpenOnEngine(engine_, registries_, o).code(), Code::kInvalidArgument);
  o = options_;
  o.writer.buffer_size = 100;
  EXPECT_EQ(Client::OpenOnEngine(engine_, registries_, o).code(), Code::kInvalidArgument);
  o = options_;
  o.meta_url = "";
  EXPECT_EQ(Client::Open(registries_, o).code(), Code::kInvalidArgument);
}

TEST_F(ClientTest, UnformattedVolumeSaysWhatToRun) {
  ClientOptions o = options_;
  o.meta_url = "memkv://";  // a fresh, empty engine
  auto c = Client::Open(registries_, o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.code(), Code::kNotFound);
  EXPECT_NE(c.status().ToString().find("strata format memkv://"), std::string::npos)
      << c.status().ToString();
}

TEST_F(ClientTest, TheEnginesTimeBudgetComesFromTheOptions) {
  options_.io.meta_timeout = std::chrono::milliseconds(1234);
  auto c = Client::OpenOnEngine(engine_, registries_, options_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(engine_->retry_policy().budget, std::chrono::milliseconds(1234));
}

}  // namespace
}  // namespace strata::client

namespace strata::client {
namespace {

TEST(ParseHostPortTest, AcceptsHostPortAndRejectsTheRest) {
  std::string host;
  int port = -1;
  ASSERT_TRUE(ParseHostPort("127.0.0.1:9567", &host, &port).ok());
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9567);
  ASSERT_TRUE(ParseHostPort("[::1]:0", &host, &port).ok());
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  for (const char* bad : {"nonsense", ":80", "host:", "host:99999", "host:8o"}) {
    EXPECT_EQ(ParseHostPort(bad, &host, &port).code(), Code::kInvalidArgument) << bad;
  }
}

TEST(MetricsServerTest, AnAddressInUseIsAClearError) {
  auto first = MetricsServer::Start("127.0.0.1:0", [] { return std::string("x 1\n"); });
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = MetricsServer::Start(taken, [] { return std::string(); });
  EXPECT_EQ(second.code(), Code::kUnavailable);
  EXPECT_NE(second.status().ToString().find(taken), std::string::npos);
}

}  // namespace
}  // namespace strata::client
