#include "../../lib/http/op_memory.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

using fedora::http::detail::op_allocator;
using fedora::http::detail::op_slot;

namespace {

struct alignas(64) over_aligned
{
    unsigned char bytes[64];
};

bool inside(const void* p, const void* owner, std::size_t size)
{
    auto a = reinterpret_cast<std::uintptr_t>(p), o = reinterpret_cast<std::uintptr_t>(owner);
    return a >= o && a < o + size;
}

} // namespace

TEST_CASE("op_slot lends its slot to one operation at a time and the heap to the rest")
{
    op_slot<128> slot;
    op_allocator<unsigned char, op_slot<128>> alloc(slot);

    unsigned char* first = alloc.allocate(100);
    CHECK(slot.in_use());
    CHECK(inside(first, &slot, sizeof(slot)));

    // Taken: the next one comes from the heap and does not free the slot when it goes.
    unsigned char* second = alloc.allocate(100);
    CHECK_FALSE(inside(second, &slot, sizeof(slot)));
    alloc.deallocate(second, 100);
    CHECK(slot.in_use());

    alloc.deallocate(first, 100);
    CHECK_FALSE(slot.in_use());

    // Given back, it serves the next operation again: the same memory, call after call.
    unsigned char* again = alloc.allocate(128);
    CHECK(again == first);
    alloc.deallocate(again, 128);
    CHECK_FALSE(slot.in_use());
}

TEST_CASE("op_slot sends what does not fit, or needs more alignment, to the heap")
{
    op_slot<128> slot;
    op_allocator<unsigned char, op_slot<128>> bytes(slot);
    unsigned char* big = bytes.allocate(129);
    CHECK_FALSE(slot.in_use());
    CHECK_FALSE(inside(big, &slot, sizeof(slot)));
    big[128] = 1;  // all of it is usable (ASan checks)
    bytes.deallocate(big, 129);

    op_allocator<over_aligned, op_slot<128>> aligned(slot);  // rebound from the same memory
    over_aligned* o = aligned.allocate(1);
    CHECK_FALSE(slot.in_use());
    CHECK(reinterpret_cast<std::uintptr_t>(o) % alignof(over_aligned) == 0);
    aligned.deallocate(o, 1);

    CHECK(op_allocator<int, op_slot<128>>(bytes) == aligned);
    op_slot<128> other;
    CHECK_FALSE(op_allocator<int, op_slot<128>>(other) == aligned);
}

TEST_CASE("op_allocator serves a standard container")
{
    op_slot<256> slot;
    std::vector<int, op_allocator<int, op_slot<256>>> v{op_allocator<int, op_slot<256>>(slot)};
    v.reserve(8);
    CHECK(slot.in_use());
    for (int i = 0; i < 100; ++i)  // grows past the slot: the heap takes over, the slot is given back
        v.push_back(i);
    CHECK_FALSE(slot.in_use());
    CHECK(v[99] == 99);
}
