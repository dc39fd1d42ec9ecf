// A commit whose reply is lost (engine restart mid-commit): slice commits are run again and
// applied once; other operations report the unknown outcome (EIO) instead of guessing.
#include <gtest/gtest.h>

#include <atomic>

#include "meta/kv/kv_wrapper.h"
#include "meta/kv/mem_kv.h"
#include "meta/meta.h"

namespace strata::meta {
namespace {

// Applies each commit, then "loses the reply" of the next `lose` ones: the fault a connection
// dying between the engine applying a commit and the client reading the answer produces.
class LostReplyKv : public kv::KvEngineWrapper {
 public:
  using KvEngineWrapper::KvEngineWrapper;
  std::string Describe() const override { return "lost-reply(" + target().Describe() + ")"; }
  Result<std::unique_ptr<kv::Transaction>> Begin(bool read_only) override {
    ASSIGN_OR_RETURN(auto inner, target().Begin(read_only));
    return std::unique_ptr<kv::Transaction>(new Txn(std::move(inner), this));
  }
  std::atomic<int> lose{0};
  std::atomic<int> lost{0};

 private:
  class Txn : public kv::TransactionWrapper {
   public:
    Txn(std::unique_ptr<kv::Transaction> t, LostReplyKv* kv)
        : TransactionWrapper(std::move(t)), kv_(kv) {}
    void Put(std::string_view k, std::string_view v) override {
      wrote_ = true;
      TransactionWrapper::Put(k, v);
    }
    void Delete(std::string_view k) override {
      wrote_ = true;
      TransactionWrapper::Delete(k);
    }
    Status Commit() override {
      RETURN_IF_ERROR(TransactionWrapper::Commit());
      if (wrote_ && kv_->lose.fetch_sub(1) > 0) {
        kv_->lost++;
        return Status(Code::kOutcomeUnknown, "test: the reply was lost");
      }
      return Status::OK();
    }

   private:
    LostReplyKv* kv_;
    bool wrote_ = false;
  };
};

TEST(IdempotentCommitTest, ALostSliceCommitIsAppliedOnce) {
  auto mem = std::shared_ptr<kv::KvEngine>(std::move(*kv::MemKv::Open()));
  auto kv = std::make_shared<LostReplyKv>(mem);
  VolumeFormat f;
  f.name = "vol";
  f.storage_url = "mem://lost-reply";
  ASSERT_TRUE(Meta::Format(*kv, f, false).ok());
  MetaOptions mo;
  mo.background_jobs = false;
  auto m = Meta::Open(kv, mo);
  ASSERT_TRUE(m.ok());
  auto e = (*m)->Mknod(Context{}, kRootIno, "f", FileType::kRegular, 0644, 0);
  ASSERT_TRUE(e.ok());
  auto id = (*m)->NewSliceId();
  ASSERT_TRUE(id.ok());

  kv->lose = 1;
  Status s = (*m)->WriteSlice(e->ino, 0, Slice{0, *id, 4096, 0, 4096}, Timespec{1, 0});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(kv->lost, 1);
  auto list = (*m)->ReadChunk(e->ino, 0);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);  // once, not twice
  EXPECT_EQ((*list)[0].id, *id);
  EXPECT_EQ((*m)->GetAttr(e->ino)->length, 4096u);

  // An operation that cannot tell whether it applied says so (EIO), and is not re-run.
  kv->lose = 1;
  auto g = (*m)->Mknod(Context{}, kRootIno, "g", FileType::kRegular, 0644, 0);
  EXPECT_EQ(g.code(), Code::kOutcomeUnknown);
  EXPECT_EQ(ToErrno(g.status()), EIO);
  EXPECT_TRUE((*m)->Lookup(Context{}, kRootIno, "g").ok());  // it did apply, once
}

}  // namespace
}  // namespace strata::meta
