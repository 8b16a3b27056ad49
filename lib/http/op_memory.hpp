// Private: memory for the asynchronous operations of one call, kept in the call itself.
//
// A call waits on one operation at a time (a write, then a read; a connect; a backoff), and
// Asio frees an operation's memory before it runs the operation's handler, so the next
// operation the handler starts finds the slot free again. Without this, each of those
// operations missed Asio's per-thread cache of two blocks (64 calls in flight free more
// than two blocks between allocations) and cost a malloc and a free of memory no longer
// in cache.
//
// The slot is taken and given back in a strict order (a handler starts the next operation
// only after the previous one's memory is back), so it needs no lock: Asio's handoff from
// the completing thread to the call's executor orders the two. Anything that does not fit,
// or finds the slot taken, gets the heap as before.
#pragma once

#include <cstddef>
#include <new>

namespace fedora::http::detail {

// `Size` bytes for one operation at a time.
template <std::size_t Size>
class op_slot
{
public:
    op_slot() = default;
    op_slot(const op_slot&) = delete;
    op_slot& operator=(const op_slot&) = delete;

    void* allocate(std::size_t size, std::size_t align)
    {
        if (!in_use_ && size <= Size && align <= alignof(std::max_align_t)) {
            in_use_ = true;
            return storage_;
        }
        if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__)
            return ::operator new(size);
        return ::operator new(size, std::align_val_t(align));
    }

    void deallocate(void* p, std::size_t align) noexcept
    {
        if (p == storage_)
            in_use_ = false;
        else if (align <= __STDCPP_DEFAULT_NEW_ALIGNMENT__)
            ::operator delete(p);  // unsized: clang 14 does not declare sized deallocation
        else
            ::operator delete(p, std::align_val_t(align));
    }

    bool in_use() const noexcept { return in_use_; }

private:
    alignas(std::max_align_t) unsigned char storage_[Size];
    bool in_use_ = false;
};

// A call's largest operation, a TLS read through Beast's parser, takes 544 bytes with GCC 12
// and Boost 1.81 (a plain HTTP read 464); the deadline timer's wait 192.
using call_op_slot = op_slot<640>;
using timer_op_slot = op_slot<256>;

// The associated allocator of a handler whose operations use `Slot`: every operation started
// with the handler (and every operation those start in turn) is allocated from it.
template <class T, class Slot>
class op_allocator
{
public:
    using value_type = T;

    explicit op_allocator(Slot& s) noexcept : slot_(&s) {}
    template <class U>
    op_allocator(const op_allocator<U, Slot>& other) noexcept : slot_(other.slot_)
    {
    }

    T* allocate(std::size_t n) { return static_cast<T*>(slot_->allocate(n * sizeof(T), alignof(T))); }
    void deallocate(T* p, std::size_t) noexcept { slot_->deallocate(p, alignof(T)); }

    template <class U>
    bool operator==(const op_allocator<U, Slot>& other) const noexcept
    {
        return slot_ == other.slot_;
    }

private:
    template <class U, class S>
    friend class op_allocator;
    Slot* slot_;
};

} // namespace fedora::http::detail
