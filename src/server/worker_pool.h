#pragma once

// Internal to the transport: moving blocking work off the I/O threads.

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace runvoy::server {

// Runs `fn` (which may block) on `pool` and resumes the awaiting coroutine on its own executor
// (its strand) with the result. An exception thrown by `fn` is rethrown in the coroutine. The
// result type must be default-constructible.
template <typename Fn>
boost::asio::awaitable<std::invoke_result_t<Fn&>> RunOnPool(boost::asio::thread_pool& pool, Fn fn) {
  using R = std::invoke_result_t<Fn&>;
  return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                     void(std::exception_ptr, R)>(
      [&pool](auto handler, Fn work) {
        auto guard = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
        boost::asio::post(pool, [handler = std::move(handler), work = std::move(work),
                                 guard = std::move(guard)]() mutable {
          std::exception_ptr error;
          std::optional<R> result;
          try {
            result.emplace(work());
          } catch (...) {
            error = std::current_exception();
          }
          auto executor = guard.get_executor();
          boost::asio::dispatch(executor, [handler = std::move(handler), error,
                                           result = std::move(result)]() mutable {
            std::move(handler)(error, result ? std::move(*result) : R());
          });
        });
      },
      boost::asio::use_awaitable, std::move(fn));
}

}  // namespace runvoy::server
