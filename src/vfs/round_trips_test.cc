// The round trips one agent step costs (issue 10): create .tmpN, write 4 KiB, close, rename to
// outN, driven through the Volume as the kernel drives it (a negative lookup before the create
// and before the rename, security.capability asked on the first write), counted by
// kv::CountingKv over memkv. A regression guard: the figure may only go down. Lower it here
// when an optimisation lowers it; never raise it.
#include <fcntl.h>
#include <gtest/gtest.h>

#include "meta/kv/counting_kv.h"
#include "meta/kv/mem_kv.h"
#include "meta/meta.h"
#include "vfs/test_client.h"

namespace strata::vfs {
namespace {

// The agreed ceiling for one step (reads + validations + commits through the KV interface).
constexpr uint64_t kMaxRoundTripsPerStep = 9;  // 19 before issue 10

struct Step {
  kv::RoundTripCounts counts;
};

// One agent step in directory `dir`; returns the round trips it took.
kv::RoundTripCounts AgentStep(Volume& v, kv::CountingKv& kv, Ino dir, int n) {
  const Context ctx;
  const std::string tmp = ".tmp" + std::to_string(n);
  const std::string out = "out" + std::to_string(n);
  // The kernel asks for the directory's attributes at each path walk after a create or a
  // rename in it (it drops them then; default_permissions needs them for the walk).
  auto kernel_getattr_dir = [&] {
    std::chrono::nanoseconds age(0);
    auto a = v.GetAttrForKernel(ctx, dir, std::chrono::seconds(1), &age);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
  };
  kv.Reset();
  kernel_getattr_dir();
  EXPECT_TRUE(v.Lookup(ctx, dir, tmp).status().Is(Code::kNotFound));
  auto c = v.Create(ctx, dir, tmp, 0644, O_WRONLY | O_CREAT | O_EXCL);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  if (!c.ok()) return kv.counts();
  const Ino ino = c->entry.ino;
  const uint64_t fh = c->open.fh;
  EXPECT_TRUE(v.GetXattr(ctx, ino, "security.capability").status().Is(Code::kNoData));
  auto w = v.Write(ctx, ino, fh, 0, std::string(4096, 'x'));
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(v.Flush(ctx, ino, fh, 1).ok());
  EXPECT_TRUE(v.Release(ino, fh).ok());
  kernel_getattr_dir();
  EXPECT_TRUE(v.Lookup(ctx, dir, out).status().Is(Code::kNotFound));
  EXPECT_TRUE(v.Rename(ctx, dir, tmp, dir, out, 0).ok());
  return kv.counts();
}

TEST(RoundTripsTest, AgentStepStaysWithinItsRoundTrips) {
  auto mem = kv::MemKv::Open();
  ASSERT_TRUE(mem.ok());
  auto counting = std::make_shared<kv::CountingKv>(std::shared_ptr<kv::KvEngine>(std::move(*mem)));
  meta::VolumeFormat f;
  f.name = "vol";
  f.uuid = "rt-uuid";
  f.storage_url = "mem://round-trips-test";
  ASSERT_TRUE(meta::Meta::Format(*counting, f, false).ok());
  auto v = testing::OpenTestClient(counting);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  auto dir = (*v)->Mkdir(Context{}, kRootIno, "agent0", 0755);
  ASSERT_TRUE(dir.ok());
  // The first steps take the id batches and warm what is cached; then the steady state.
  for (int n = 0; n < 3; n++) AgentStep(**v, *counting, dir->ino, n);
  kv::RoundTripCounts c = AgentStep(**v, *counting, dir->ino, 3);
  std::printf("agent step: %llu round trips (%llu reads, %llu validations, %llu commits) in %llu "
              "transactions\n",
              static_cast<unsigned long long>(c.total()), static_cast<unsigned long long>(c.reads),
              static_cast<unsigned long long>(c.validates),
              static_cast<unsigned long long>(c.commits),
              static_cast<unsigned long long>(c.transactions));
  EXPECT_LE(c.total(), kMaxRoundTripsPerStep);
  // The work is all there: the file holds its 4 KiB under its final name.
  auto e = (*v)->Lookup(Context{}, dir->ino, "out3");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->attr.length, 4096u);
}

}  // namespace
}  // namespace strata::vfs
