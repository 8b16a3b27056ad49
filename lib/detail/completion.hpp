// Private: completing a type-erased handler from library code, shared by the FAS and Bodhi
// clients.
#pragma once

#include <fedora/error.hpp>

#include <boost/asio/any_completion_executor.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <exception>
#include <new>
#include <tuple>
#include <type_traits>

namespace fedora::detail {

// `ex` as an any_completion_executor, an io_context's plain executor behind it held in
// place. Asio 1.81 holds an any_io_executor converted to an any_completion_executor (a
// coroutine's executor, or the client's: the common case) in a reference-counted
// allocation; every copy, work guard and property through it then costs an atomic count or
// another allocation, a dozen of each per call. `Executor`: any_io_executor or
// any_completion_executor.
template <class Executor>
boost::asio::any_completion_executor held_in_place(Executor ex)
{
    namespace asio = boost::asio;
    if (const auto* io = ex.template target<asio::io_context::executor_type>())
        return asio::any_completion_executor(std::nothrow, *io);  // fits in place: no allocation
    return asio::any_completion_executor(std::move(ex));
}

// The executor associated with `h`, or `fallback`, with allocation failures reported as
// std::bad_alloc. Asio 1.81 computes the associated executor of an any_completion_handler
// on a std::nothrow path: from a concrete executor (a strand) it allocates inside a
// noexcept constructor, so a failed allocation terminates the process; from another
// polymorphic executor it yields an empty executor, and dispatching through that
// dereferences null. Converting `fallback` first, where a failure throws, and checking the
// result avoids both.
template <class Handler, class Executor>
auto associated_executor_checked(const Handler& h, const Executor& fallback)
{
    const boost::asio::any_completion_executor candidate = held_in_place(fallback);
    auto ex = boost::asio::get_associated_executor(h, candidate);
    if constexpr (std::is_constructible_v<bool, decltype(ex)>)
        if (!static_cast<bool>(ex))
            throw std::bad_alloc();
    if constexpr (std::is_same_v<decltype(ex), boost::asio::any_completion_executor>)
        return held_in_place(std::move(ex));
    else
        return ex;
}

// Binds `f` to the executor and cancellation slot of `h`. The associations are read before
// `f` is built, because `f` usually takes `h` over.
template <class Handler>
auto continue_on(const Handler& h, const boost::asio::any_io_executor& fallback)
{
    namespace asio = boost::asio;
    return [ex = associated_executor_checked(h, fallback),
            slot = asio::get_associated_cancellation_slot(h)](auto&& f) {
        return asio::bind_executor(ex, asio::bind_cancellation_slot(slot, std::forward<decltype(f)>(f)));
    };
}

// Runs an awaitable yielding (error_code, R) on a new strand and completes `handler` with
// it; R has a `diag` member.
template <class R, class Handler>
void spawn_with(const boost::asio::any_io_executor& ex,
                boost::asio::awaitable<std::tuple<error_code, R>> work, Handler handler)
{
    namespace asio = boost::asio;
    auto strand = asio::make_strand(ex);
    asio::co_spawn(strand, std::move(work),
                   continue_on(handler, strand)([h = std::move(handler)](std::exception_ptr ep,
                                                                          std::tuple<error_code, R> t) mutable {
                       auto& [ec, r] = t;
                       if (ep) {
                           // Only allocation failures and the like get here.
                           ec = make_error_code(errc::server_error);
                           try {
                               std::rethrow_exception(ep);
                           } catch (const std::exception& e) {
                               r.diag.message = std::string("internal failure: ") + e.what();
                           } catch (...) {
                               r.diag.message = "internal failure";
                           }
                       }
                       std::move(h)(ec, std::move(r));
                   }));
}

} // namespace fedora::detail
