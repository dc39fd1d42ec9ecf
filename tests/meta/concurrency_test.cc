// Conformance under concurrency: many threads on two independent clients (each with its own
// engine object) create, link, unlink, rmdir and rename over a small shared set of names so
// that they conflict constantly; afterwards the namespace invariants must hold exactly.
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest-spi.h>

#include "meta/schema.h"
#include "tests/meta/fixture.h"

namespace strata::meta::testing {
namespace {

class ConcurrencyTest : public MetaTest {};

// Outcomes a racing operation may legitimately see; anything else is a bug.
bool Expected(Code c) {
  switch (c) {
    case Code::kOk:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kNotEmpty:
    case Code::kIsDir:
    case Code::kNotDir:
    case Code::kInvalidArgument:  // a directory moved into its own subtree
    case Code::kNotPermitted:     // a hard link to what became a directory name
      return true;
    default:
      return false;
  }
}

TEST_P(ConcurrencyTest, ConflictingNamespaceOperationsKeepInvariants) {
  const Ino top = MustMkdir(kRootIno, "top");
  const Ino sub = MustMkdir(top, "sub");
  auto second = OpenClient();
  ASSERT_TRUE(second);
  Meta* clients[2] = {&meta(), second.get()};
  const int kThreadsPerClient = 3;
  const int kOps = GetParam() == "sqlite" || GetParam() == "redis" ? 120 : 200;
  std::atomic<int> unexpected{0};
  std::atomic<int> succeeded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreadsPerClient; t++) {
    threads.emplace_back([&, t] {
      Meta& m = *clients[t % 2];
      std::minstd_rand rng(1234 + t);
      auto pick_dir = [&] { return rng() % 3 == 0 ? sub : top; };
      auto name = [&] { return "n" + std::to_string(rng() % 12); };
      for (int i = 0; i < kOps; i++) {
        Status s;
        switch (rng() % 8) {
          case 0:
          case 1:
            s = m.Mknod(Root(), pick_dir(), name(), FileType::kRegular, 0644, 0).status();
            break;
          case 2:
            s = m.Mkdir(Root(), pick_dir(), name(), 0755).status();
            break;
          case 3:
            s = m.Unlink(Root(), pick_dir(), name());
            break;
          case 4:
            s = m.Rmdir(Root(), pick_dir(), name());
            break;
          case 5:
          case 6: {
            const uint32_t flags = rng() % 5 == 0   ? uint32_t{kRenameExchange}
                                   : rng() % 4 == 0 ? uint32_t{kRenameNoReplace}
                                                    : uint32_t{0};
            // Directories named nX may themselves become targets: moves nest them.
            Ino from = pick_dir(), to = pick_dir();
            if (rng() % 4 == 0) {
              auto e = m.Lookup(Root(), top, name());
              if (e.ok() && e->attr.type == FileType::kDirectory) to = e->ino;
            }
            s = m.Rename(Root(), from, name(), to, name(), flags);
            break;
          }
          case 7: {
            auto e = m.Lookup(Root(), pick_dir(), name());
            s = e.ok() ? m.Link(Root(), e->ino, pick_dir(), name()).status() : e.status();
            break;
          }
        }
        if (s.ok()) succeeded++;
        if (!Expected(s.code())) {
          unexpected++;
          ADD_FAILURE() << "unexpected: " << s.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(succeeded.load(), 100);
  ExpectConsistent();
}

TEST_P(ConcurrencyTest, NoCreateIsLostAndEveryUniqueFileSurvivesRenames) {
  const Ino d = MustMkdir(kRootIno, "d");
  const Ino e = MustMkdir(kRootIno, "e");
  auto second = OpenClient();
  ASSERT_TRUE(second);
  Meta* clients[2] = {&meta(), second.get()};
  const int kThreads = 6, kFiles = GetParam() == "sqlite" ? 25 : 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Meta& m = *clients[t % 2];
      for (int i = 0; i < kFiles; i++) {
        const std::string n = "t" + std::to_string(t) + "-" + std::to_string(i);
        bool ok = m.Mknod(Root(), d, n, FileType::kRegular, 0644, 0).ok();
        // Every other file moves to e under a new name; every fifth is removed.
        if (ok && i % 2 == 0) ok = m.Rename(Root(), d, n, e, n + "-moved", 0).ok();
        if (ok && i % 5 == 0) {
          ok = m.Unlink(Root(), i % 2 == 0 ? e : d, i % 2 == 0 ? n + "-moved" : n).ok();
        }
        if (!ok) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);
  std::set<std::string> in_d, in_e;
  for (auto& n : ListNames(d, 13)) in_d.insert(n);
  for (auto& n : ListNames(e, 13)) in_e.insert(n);
  size_t want_d = 0, want_e = 0;
  for (int t = 0; t < kThreads; t++) {
    for (int i = 0; i < kFiles; i++) {
      const std::string n = "t" + std::to_string(t) + "-" + std::to_string(i);
      if (i % 5 == 0) {
        EXPECT_FALSE(in_d.count(n) || in_e.count(n + "-moved")) << n;
      } else if (i % 2 == 0) {
        EXPECT_TRUE(in_e.count(n + "-moved")) << n;
        want_e++;
      } else {
        EXPECT_TRUE(in_d.count(n)) << n;
        want_d++;
      }
    }
  }
  EXPECT_EQ(in_d.size(), want_d);
  EXPECT_EQ(in_e.size(), want_e);
  EXPECT_EQ(meta().GetDirUsage(d)->inodes, static_cast<int64_t>(want_d));
  EXPECT_EQ(meta().GetDirUsage(e)->inodes, static_cast<int64_t>(want_e));
  EXPECT_EQ(meta().GetStatFs(Root(), kRootIno)->used_inodes, want_d + want_e + 2);
  ExpectConsistent();
}

TEST_P(ConcurrencyTest, CrossedDirectoryMovesNeverMakeACycle) {
  auto second = OpenClient();
  ASSERT_TRUE(second);
  for (int round = 0; round < 15; round++) {
    const std::string a = "a" + std::to_string(round), b = "b" + std::to_string(round);
    const Ino ia = MustMkdir(kRootIno, a);
    const Ino ib = MustMkdir(kRootIno, b);
    Status s1, s2;
    std::thread t1([&] { s1 = meta().Rename(Root(), kRootIno, a, ib, a, 0); });
    std::thread t2([&] { s2 = second->Rename(Root(), kRootIno, b, ia, b, 0); });
    t1.join();
    t2.join();
    // Exactly one wins; the other finds its source gone or is refused as a cycle.
    EXPECT_NE(s1.ok(), s2.ok()) << s1.ToString() << " / " << s2.ToString();
  }
  ExpectConsistent();
}

}  // namespace
STRATA_META_INSTANTIATE(ConcurrencyTest);
}  // namespace strata::meta::testing

namespace strata::meta::testing {
namespace {

// The checker itself must notice a broken namespace, or the tests above prove nothing.
TEST_P(ConcurrencyTest, ConsistencyCheckerNoticesBrokenLinkCount) {
  Ino f = MustCreate(kRootIno, "f");
  ExpectConsistent();
  ASSERT_TRUE(kv::RunTxn(engine(), [&](kv::Transaction& txn) {
    auto raw = txn.Get(schema::AttrKey(f));
    if (!raw.ok()) return raw.status();
    auto a = schema::DecodeAttr(**raw);
    if (!a.ok()) return a.status();
    a->nlink = 2;
    txn.Put(schema::AttrKey(f), schema::EncodeAttr(*a));
    return Status::OK();
  }).ok());
  EXPECT_NONFATAL_FAILURE(ExpectConsistent(), "nlink 2 but 1 entries");
}

}  // namespace
}  // namespace strata::meta::testing
