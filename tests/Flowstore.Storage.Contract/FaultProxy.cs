using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Flowstore.Storage.Contract;

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a real server that injects faults per connection: reset the next
/// connections, answer them with HTTP 503, or accept and never answer. Counts the connections it accepted, so a
/// test can see that a client retried.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<TcpClient, byte> _open = new();
    private readonly Task _accepting;
    private int _resets;
    private int _unavailable;
    private volatile bool _hang;
    private int _accepted;
    private int _answered503;

    public FaultProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        _accepting = AcceptLoopAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Connections answered with HTTP 503 so far.</summary>
    public int Answered503 => Volatile.Read(ref _answered503);

    /// <summary>Connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Resets the next <paramref name="count"/> connections (and drops pooled ones so the client reconnects).</summary>
    public void ResetNext(int count)
    {
        Interlocked.Exchange(ref _resets, count);
        DropOpenConnections();
    }

    /// <summary>Answers the next <paramref name="count"/> connections with HTTP 503.</summary>
    public void UnavailableNext(int count)
    {
        Interlocked.Exchange(ref _unavailable, count);
        DropOpenConnections();
    }

    /// <summary>Accepts connections and never answers them, until turned off.</summary>
    public void Hang(bool on)
    {
        _hang = on;
        DropOpenConnections();
    }

    private void DropOpenConnections()
    {
        foreach (var client in _open.Keys)
        {
            Abort(client);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            Interlocked.Increment(ref _accepted);
            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        _open[client] = 0;
        try
        {
            if (TryTake(ref _resets))
            {
                Abort(client);
                return;
            }
            var stream = client.GetStream();
            if (TryTake(ref _unavailable))
            {
                Interlocked.Increment(ref _answered503);
                await ReadHeadersAsync(stream);
                var answer = Encoding.ASCII.GetBytes(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nConnection: close\r\nContent-Length: 96\r\n\r\n" +
                    "<Error><Code>ServiceUnavailable</Code><Message>Please try again.</Message></Error>".PadRight(96));
                await stream.WriteAsync(answer, _stop.Token);
                await stream.FlushAsync(_stop.Token);
                client.Close();
                return;
            }
            if (_hang)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }
            using var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
            }
            catch (SocketException)
            {
                // The server is down: the client sees its connection reset.
                Abort(client);
                return;
            }
            var up = upstream.GetStream();
            var a = stream.CopyToAsync(up, _stop.Token);
            var b = up.CopyToAsync(stream, _stop.Token);
            await Task.WhenAny(a, b);
        }
        catch (Exception)
        {
            // A dropped connection ends its relay.
        }
        finally
        {
            _open.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private static async Task ReadHeadersAsync(NetworkStream stream)
    {
        var buffer = new byte[8192];
        var seen = new StringBuilder();
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                return;
            }
            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    private static bool TryTake(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current)
            {
                return true;
            }
        }
    }

    private static void Abort(TcpClient client)
    {
        try
        {
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
        }
        catch (Exception)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        DropOpenConnections();
        await _accepting;
        _stop.Dispose();
    }
}
