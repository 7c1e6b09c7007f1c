"""Technical indicators, vectorised over days × stocks numpy arrays (the `DailyPanel` shape).

Every function takes float arrays of shape (T, N) — rows are trading days, ascending; columns are stocks —
and returns arrays of the same shape. Row `t` uses data of days `<= t` only (no look-ahead).

Missing data, the one policy for every indicator:
- **A day without a trade** (volume 0, NaN prices in the panel) is not a gap in the price: the stock was
  listed and its price simply did not change. `fill_untraded` carries the last close forward over such days
  (open = high = low = close = that close, so the day's true range against the previous close is 0) — the
  same convention KRX uses in its own end-of-day file. Run the price arrays through it (or `prepared`) first.
- **A day the stock was not listed** (NaN everywhere, volume included) stays NaN. Leading NaNs are the
  stock's warm-up: an indicator with window `n` is NaN until the stock has `n` valid observations (the
  exact rule per indicator is in its docstring). A NaN inside a window makes that window's value NaN; a
  recursive indicator (EMA, Wilder) outputs NaN on a NaN day and resumes from its previous state.

Conventions follow the `ta` package (and pandas `rolling`/`ewm(adjust=False)`) wherever it has the indicator, so
that tests can compare to it to 1e-9 relative; the few places where we deliberately differ say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Array = np.ndarray


# --- missing days ----------------------------------------------------------------------------------------


def fill_untraded(values: Array, volume: Array) -> Array:
    """`values` with NaNs on traded-nothing days (volume == 0) replaced by the last valid value before them.

    Days with NaN volume (not listed) stay NaN and are never filled, nor filled across. Untraded days before
    the first valid value of the window stay NaN (nothing to carry).
    """
    values = np.asarray(values, dtype=float)
    valid = ~np.isnan(values)
    t_index = np.arange(values.shape[0])[:, None]
    last_valid = np.where(valid, t_index, -1)
    np.maximum.accumulate(last_valid, axis=0, out=last_valid)
    # A not-listed day between the source and the target breaks the carry: track the last not-listed day.
    unlisted = np.isnan(volume)
    last_unlisted = np.where(unlisted, t_index, -1)
    np.maximum.accumulate(last_unlisted, axis=0, out=last_unlisted)
    fillable = (~valid) & (volume == 0) & (last_valid >= 0) & (last_valid > last_unlisted)
    if not fillable.any():
        return values
    out = values.copy()
    cols = np.broadcast_to(np.arange(values.shape[1]), values.shape)
    out[fillable] = values[last_valid[fillable], cols[fillable]]
    return out


@dataclass(frozen=True)
class Prices:
    """Open/high/low/close with untraded days filled (see the module docstring), volume and traded value."""

    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    amount: Array


def prepared(open_: Array, high: Array, low: Array, close: Array, volume: Array, amount: Array) -> Prices:
    """Apply the missing-day policy to raw panel arrays: the inputs every indicator here expects.

    A price <= 0 is treated as missing (the panel contract forbids it, but a data file may carry one); an open,
    high or low missing on a day that has a close takes the close."""
    close = np.where(np.asarray(close, dtype=float) > 0, close, np.nan)
    filled_close = fill_untraded(close, volume)

    def same_as_close(raw: Array) -> Array:
        # untraded days, and the rare traded day whose file shows no open/high/low (0), take the close
        raw = np.asarray(raw, dtype=float)
        return np.where(np.isnan(raw) | (raw <= 0), filled_close, raw)

    traded_value = np.where((volume == 0) & np.isnan(amount), 0.0, amount)
    return Prices(open=same_as_close(open_), high=same_as_close(high), low=same_as_close(low),
                  close=filled_close, volume=np.asarray(volume, dtype=float), amount=traded_value)


# --- rolling windows -------------------------------------------------------------------------------------


def _check_window(n: int) -> None:
    if int(n) != n or n < 1:
        raise ValueError(f"window must be a positive integer, got {n!r}")


ROW_CUMSUM_MIN_COLUMNS = 256  # from this many stocks on, `cumsum_days` adds row by row (measured crossover ~200)


def cumsum_days(x: Array, dtype: type | None = None) -> Array:
    """`np.cumsum(x, axis=0, dtype=dtype)`, the same bits: numpy accumulates along the first axis one element
    at a time (~8 ns each on a wide panel), so over many stocks adding whole rows in place is several times
    faster (31 × 2,900: 0.05 ms against 0.5 ms); a narrow array keeps `np.cumsum`."""
    if x.ndim != 2 or x.shape[1] < ROW_CUMSUM_MIN_COLUMNS or (dtype is None and x.dtype.kind != "f"):
        return np.cumsum(x, axis=0, dtype=dtype)  # (np.cumsum widens bools and small ints: no dtype, its own)
    out = np.array(x, dtype=dtype, copy=True)
    for k in range(1, out.shape[0]):
        np.add(out[k - 1], out[k], out=out[k])
    return out


def _window_sums(x: Array, n: int) -> tuple[Array, Array]:
    """Sum of the last `n` values and how many of them were valid, per day (NaN counted as 0)."""
    valid = ~np.isnan(x)
    zeroed = np.where(valid, x, 0.0)
    sums = cumsum_days(zeroed)
    counts = cumsum_days(valid, np.int64)
    sums[n:] = sums[n:] - sums[:-n]
    counts[n:] = counts[n:] - counts[:-n]
    return sums, counts


def sma(x: Array, n: int) -> Array:
    """Simple moving average over `n` days; NaN unless all `n` days are valid (pandas `min_periods=n`)."""
    _check_window(n)
    x = np.asarray(x, dtype=float)
    sums, counts = _window_sums(x, n)
    out = sums / n
    out[counts < n] = np.nan
    return out


def rolling_std(x: Array, n: int, ddof: int = 0) -> Array:
    """Standard deviation over `n` days (two-pass: exact, not the cancellation-prone sum of squares)."""
    _check_window(n)
    x = np.asarray(x, dtype=float)
    mean = sma(x, n)
    out = np.full_like(x, np.nan)
    if x.shape[0] < n or n - ddof <= 0:
        return out
    squares = np.zeros((x.shape[0] - n + 1, x.shape[1]))
    for k in range(n):
        deviation = x[k : x.shape[0] - n + 1 + k] - mean[n - 1 :]
        squares += deviation * deviation
    out[n - 1 :] = np.sqrt(squares / (n - ddof))
    return out


def _rolling_extreme(x: Array, n: int, pick) -> Array:
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, np.nan)
    if x.shape[0] < n:
        return out
    acc = x[n - 1 :].copy()
    for k in range(1, n):
        acc = pick(acc, x[n - 1 - k : x.shape[0] - k])  # np.maximum/minimum propagate NaN
    out[n - 1 :] = acc
    return out


def rolling_max(x: Array, n: int) -> Array:
    """Highest value of the last `n` days; NaN if any of them is NaN."""
    _check_window(n)
    return _rolling_extreme(x, n, np.maximum)


def rolling_min(x: Array, n: int) -> Array:
    """Lowest value of the last `n` days; NaN if any of them is NaN."""
    _check_window(n)
    return _rolling_extreme(x, n, np.minimum)


def shift(x: Array, n: int = 1) -> Array:
    """Value `n` days earlier (NaN for the first `n` rows)."""
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, np.nan)
    if n < x.shape[0]:
        out[n:] = x[:-n] if n else x
    return out


# --- recursive averages ----------------------------------------------------------------------------------


def ewm(x: Array, alpha: float, min_periods: int) -> Array:
    """Exponentially weighted mean `s_t = alpha·x_t + (1-alpha)·s_{t-1}`, seeded with each stock's first valid
    value (pandas `ewm(alpha, adjust=False)`); NaN until `min_periods` valid values were seen, and on NaN days
    (the state carries over them)."""
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, np.nan)
    state = np.full(x.shape[1], np.nan)
    seen = np.zeros(x.shape[1], dtype=np.int64)
    keep = 1.0 - alpha
    for t in range(x.shape[0]):
        row = x[t]
        valid = ~np.isnan(row)
        updated = alpha * row + keep * state
        state = np.where(valid, np.where(np.isnan(state), row, updated), state)
        seen += valid
        out[t] = np.where(valid & (seen >= min_periods), state, np.nan)
    return out


def ema(x: Array, n: int) -> Array:
    """Exponential moving average with span `n` (alpha = 2/(n+1)), as `ta.trend.EMAIndicator`: seeded with the
    first value, valid from the `n`-th observation."""
    _check_window(n)
    return ewm(x, 2.0 / (n + 1.0), n)


def wilder(x: Array, n: int) -> Array:
    """Wilder's smoothing (alpha = 1/n) in the recursive form `ta` uses for RSI: seeded with the first value,
    valid from the `n`-th observation."""
    _check_window(n)
    return ewm(x, 1.0 / n, n)


# --- indicators ------------------------------------------------------------------------------------------


def rsi(close: Array, n: int = 14) -> Array:
    """Relative strength index with Wilder smoothing, 0..100.

    As `ta.momentum.RSIIndicator`: the first day of a stock counts as a gain and a loss of 0, gains and losses
    are Wilder-smoothed from there, and the value is valid from the stock's `n`-th day. Where the average loss
    is 0 the RSI is 100 — except when the average gain is 0 too (a price that did not move at all), where we
    return 50 (neutral) and `ta` returns 100.
    """
    close = np.asarray(close, dtype=float)
    change = np.diff(close, axis=0, prepend=np.nan)
    first_day = np.isnan(change) & ~np.isnan(close)
    change[first_day] = 0.0
    gain = np.where(np.isnan(change), np.nan, np.maximum(change, 0.0))
    loss = np.where(np.isnan(change), np.nan, np.maximum(-change, 0.0))
    avg_gain = wilder(gain, n)
    avg_loss = wilder(loss, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    value = np.where(avg_loss == 0, 100.0, value)
    value = np.where((avg_loss == 0) & (avg_gain == 0), 50.0, value)
    return np.where(np.isnan(avg_gain) | np.isnan(avg_loss), np.nan, value)


@dataclass(frozen=True)
class Macd:
    line: Array  # EMA(fast) - EMA(slow)
    signal: Array  # EMA(line, signal)
    histogram: Array  # line - signal


def macd(close: Array, fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """MACD as `ta.trend.MACD`: line valid from day `slow`, signal from day `slow + signal - 1`."""
    if fast >= slow:
        raise ValueError(f"MACD fast window ({fast}) must be shorter than the slow one ({slow})")
    line = ema(close, fast) - ema(close, slow)
    signal_line = ema(line, signal)
    return Macd(line=line, signal=signal_line, histogram=line - signal_line)


@dataclass(frozen=True)
class Bollinger:
    middle: Array
    upper: Array
    lower: Array
    percent_b: Array  # (close - lower) / (upper - lower); NaN when the band has zero width
    width: Array  # (upper - lower) / middle


def bollinger(close: Array, n: int = 20, k: float = 2.0) -> Bollinger:
    """Bollinger bands as `ta.volatility.BollingerBands`: SMA ± k × population standard deviation (ddof=0)."""
    close = np.asarray(close, dtype=float)
    middle = sma(close, n)
    deviation = rolling_std(close, n, ddof=0)
    upper = middle + k * deviation
    lower = middle - k * deviation
    with np.errstate(divide="ignore", invalid="ignore"):
        span = upper - lower
        percent_b = np.where(span > 0, (close - lower) / span, np.nan)
        width = span / middle
    return Bollinger(middle=middle, upper=upper, lower=lower, percent_b=percent_b, width=width)


def true_range(high: Array, low: Array, close: Array) -> Array:
    """max(high - low, |high - previous close|, |low - previous close|); on a stock's first day high - low."""
    previous = shift(close, 1)
    span = high - low
    with np.errstate(invalid="ignore"):
        gaps = np.fmax(np.abs(high - previous), np.abs(low - previous))
    return np.where(np.isnan(previous), span, np.fmax(span, gaps))


def atr(high: Array, low: Array, close: Array, n: int = 14) -> Array:
    """Average true range, Wilder's original form (as `ta.volatility.AverageTrueRange`): the mean of the first `n`
    true ranges on the stock's `n`-th day, then `atr_t = (atr_{t-1}·(n-1) + tr_t) / n`. NaN before that."""
    _check_window(n)
    tr = true_range(np.asarray(high, float), np.asarray(low, float), np.asarray(close, float))
    out = np.full_like(tr, np.nan)
    state = np.full(tr.shape[1], np.nan)
    seed_sum = np.zeros(tr.shape[1])
    seen = np.zeros(tr.shape[1], dtype=np.int64)
    for t in range(tr.shape[0]):
        row = tr[t]
        valid = ~np.isnan(row)
        seen += valid
        warming = valid & (seen <= n)
        seed_sum = np.where(warming, seed_sum + np.where(valid, row, 0.0), seed_sum)
        seeded = valid & (seen == n)
        recursive = valid & (seen > n)
        state = np.where(seeded, seed_sum / n, state)
        state = np.where(recursive, (state * (n - 1) + row) / n, state)
        out[t] = np.where(valid & (seen >= n), state, np.nan)
    return out


def log_returns(close: Array) -> Array:
    """ln(close_t / close_{t-1}); NaN on a stock's first day."""
    close = np.asarray(close, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(close / shift(close, 1))


def volatility(close: Array, n: int = 20, annualize: bool = False) -> Array:
    """Standard deviation (ddof=1) of the last `n` daily log returns (needs `n + 1` closes); × √252 if annualised."""
    value = rolling_std(log_returns(close), n, ddof=1)
    return value * np.sqrt(252.0) if annualize else value


def volume_ratio(volume: Array, short: int = 5, long: int = 20) -> Array:
    """Average volume of the last `short` days over that of the last `long` days; NaN when the long average is 0."""
    long_avg = sma(volume, long)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(long_avg > 0, sma(volume, short) / long_avg, np.nan)


def n_day_return(close: Array, n: int = 20) -> Array:
    """close_t / close_{t-n} - 1 (as `ta.momentum.ROCIndicator` / 100)."""
    close = np.asarray(close, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return close / shift(close, n) - 1.0


def distance_to_high(close: Array, high: Array, n: int = 20) -> Array:
    """close / (highest high of the last `n` days, today included) - 1: 0 at a new high, negative below it."""
    return np.asarray(close, dtype=float) / rolling_max(high, n) - 1.0


def distance_to_low(close: Array, low: Array, n: int = 20) -> Array:
    """close / (lowest low of the last `n` days, today included) - 1: 0 at a new low, positive above it."""
    return np.asarray(close, dtype=float) / rolling_min(low, n) - 1.0


def average_traded_value(amount: Array, n: int = 20) -> Array:
    """Mean traded value (won) of the last `n` days; untraded days count as 0 won, not-listed days as missing."""
    return sma(amount, n)


def regression_slope(x: Array, n: int = 20) -> Array:
    """Least-squares slope of the last `n` values against 0..n-1 (units of x per day); NaN if any is missing.

    Apply it to `np.log(close)` for a growth rate per day that is comparable across price levels.
    """
    _check_window(n)
    if n < 2:
        raise ValueError("a regression slope needs a window of at least 2")
    x = np.asarray(x, dtype=float)
    out = np.full_like(x, np.nan)
    rows = x.shape[0] - n + 1
    if rows <= 0:
        return out
    offsets = np.arange(n, dtype=float) - (n - 1) / 2.0
    denominator = float(np.sum(offsets * offsets))
    acc = np.zeros((rows, x.shape[1]))
    for k in range(n):
        acc += offsets[k] * x[k : k + rows]
    out[n - 1 :] = acc / denominator
    return out
