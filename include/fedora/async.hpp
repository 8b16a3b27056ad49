// Completion-token conventions shared by every asynchronous operation of the SDK.
//
// Every initiating function is named `async_*`, takes any Asio completion token as its last
// argument, and completes with `void(boost::system::error_code, R)`. R always has a
// `diagnostics diag` member (status, URL, messages, whether the request may have reached
// the server). The default token, `fedora::use_default`, is
// `fedora::with_diagnostics(boost::asio::use_awaitable)`: `co_await client.async_x(...)`
// inside an `asio::awaitable` returns R and throws `fedora::error` (code + diagnostics) on
// failure. (Not `deferred`: Boost 1.81's awaitable cannot co_await a deferred operation
// whose signature starts with std::exception_ptr; `asio::deferred` itself works as a token
// with the plain error_code signature.)
//
//   auto r = co_await c.async_send(req);                           // throws fedora::error
//   auto [ec, r] = co_await c.async_send(req, asio::as_tuple(asio::use_awaitable)); // no throw
//   c.async_send(req, [](error_code ec, http::response r) { ... });             // callback
//   auto f = c.async_send(req, fedora::with_diagnostics(asio::use_future));     // future
//
// Plain `asio::use_future` or `asio::use_awaitable` work too; they throw
// `boost::system::system_error` without the diagnostics, so prefer wrapping them in
// `with_diagnostics`.
//
// Cancellation: operations support terminal cancellation through the handler's associated
// cancellation slot (e.g. asio::bind_cancellation_slot, or the awaitable's own). A cancelled
// call completes once with errc::cancelled; the connection it used is closed, never reused.
#pragma once

#include <fedora/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <type_traits>
#include <utility>

namespace fedora {

// Wraps a completion token so that the operation completes with
// `void(std::exception_ptr, R)`, the exception being a `fedora::error` with diagnostics.
template <class Token>
struct with_diagnostics_t
{
    Token token;
};

template <class Token>
constexpr with_diagnostics_t<std::decay_t<Token>> with_diagnostics(Token&& token)
{
    return {std::forward<Token>(token)};
}

using default_token = with_diagnostics_t<boost::asio::use_awaitable_t<>>;
inline constexpr default_token use_default{boost::asio::use_awaitable};

namespace detail {

template <class T>
struct is_with_diagnostics : std::false_type
{
};
template <class T>
struct is_with_diagnostics<with_diagnostics_t<T>> : std::true_type
{
};

// Turns (error_code, R) into (exception_ptr, R) for a with_diagnostics token.
template <class Handler>
struct throwing_handler
{
    using forwarded_handler_type = Handler;  // its associations are the caller's (below)
    Handler handler;

    // Taken by reference: a reply by value was one more move of a whole typed result.
    template <class R>
    void operator()(error_code ec, R&& result)
    {
        if (ec) {
            auto ex = std::make_exception_ptr(error(ec, result.diag));
            std::move(handler)(std::move(ex), std::forward<R>(result));
        } else {
            std::move(handler)(std::exception_ptr(), std::forward<R>(result));
        }
    }
};

// Launches `initiation(handler, args...)` for any completion token; `initiation` receives a
// handler callable as void(error_code, R) whatever the token was.
template <class R, class Token, class Initiation, class... Args>
auto initiate(Initiation&& initiation, Token&& token, Args&&... args)
{
    using token_type = std::decay_t<Token>;
    if constexpr (is_with_diagnostics<token_type>::value) {
        // (decltype((...)) keeps the constness of a const token.
        return boost::asio::async_initiate<std::remove_reference_t<decltype((token.token))>,
                                           void(std::exception_ptr, R)>(
            [](auto handler, auto init, auto&&... a) {
                std::move(init)(throwing_handler<decltype(handler)>{std::move(handler)},
                                std::forward<decltype(a)>(a)...);
            },
            token.token, std::forward<Initiation>(initiation), std::forward<Args>(args)...);
    } else {
        return boost::asio::async_initiate<Token, void(error_code, R)>(
            std::forward<Initiation>(initiation), token, std::forward<Args>(args)...);
    }
}

} // namespace detail
} // namespace fedora

// A library handler that wraps the caller's (throwing_handler here, the clients' parse_then)
// keeps the executor, allocator and cancellation slot of the original. A wrapper opts in by
// naming the type of its `handler` member `forwarded_handler_type`.
template <template <class, class> class Associator, class Wrapper, class DefaultCandidate>
    requires requires { typename Wrapper::forwarded_handler_type; }
struct boost::asio::associator<Associator, Wrapper, DefaultCandidate>
    : Associator<typename Wrapper::forwarded_handler_type, DefaultCandidate>
{
    using inner = Associator<typename Wrapper::forwarded_handler_type, DefaultCandidate>;

    static typename inner::type get(const Wrapper& w) noexcept { return inner::get(w.handler); }

    static auto get(const Wrapper& w, const DefaultCandidate& c) noexcept
        -> decltype(inner::get(w.handler, c))
    {
        return inner::get(w.handler, c);
    }
};
