using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Samsa.Broker.Metrics;
using Samsa.Broker.Security.Ssl;
using Samsa.Protocol;
using Samsa.Protocol.Records;

namespace Samsa.Broker.Network;

/// <summary>
/// One client connection: reads 4-byte big-endian size-prefixed request frames and answers them strictly in order,
/// one request at a time, as Kafka does by muting a channel until its response is sent.
/// </summary>
/// <remarks>
/// The read loop is Kestrel's: take every whole frame out of what has arrived, then advance with consumed = the start
/// of the first incomplete frame and examined = the end, so the next read waits for more bytes. A frame's size is
/// checked against <c>socket.request.max.bytes</c> before any byte of its payload is awaited, and nothing is ever
/// allocated to a claimed size: the payload is copied into a pooled buffer only once it has fully arrived, and that
/// buffer goes back to the pool on every path. Framing errors close only this connection.
/// <para>Responses that carry records from segment files (fetches) are sent without copying the records: the
/// written pieces of the frame and the file regions go out in order through <see cref="Socket.SendPacketsAsync"/>,
/// which uses sendfile for the regions (Kafka's <c>FileRecords.writeTo</c> / <c>transferTo</c>).</para>
/// </remarks>
internal sealed class KafkaConnection
{
    private const int SizePrefixLength = 4;

    private readonly Socket _socket;
    private readonly IRequestHandler _handler;
    private readonly int _maxRequestBytes;
    private readonly ILogger _logger;
    private readonly List<ExternalSlice> _external = [];
    private SocketAsyncEventArgs? _sendArgs;
    private TaskCompletionSource<SocketError>? _sendDone;
    private readonly TimeProvider _time;
    private readonly SslServerContext? _tls;
    private readonly int _maxUnauthenticatedBytes;
    private bool _zeroCopy = true;
    private int _pendingFrameBytes; // the whole frame at the front of the buffer, once its size is known and it is not all there
    private long _lastActivity;
    private int _busy;

    /// <summary>
    /// One FileStream view per open segment handle, for <see cref="SendPacketsElement"/> (which takes a stream,
    /// not a handle). Never disposed or finalized: the segment owns and closes the handle.
    /// </summary>
    private static readonly ConditionalWeakTable<SafeFileHandle, FileStream> s_fileStreams = new();

    /// <param name="tls">The listener's TLS context (SSL, SASL_SSL), or null for a plaintext transport.</param>
    /// <param name="maxUnauthenticatedBytes">The frame limit while a SASL stage is incomplete (<c>sasl.server.max.receive.size</c>).</param>
    public KafkaConnection(Socket socket, ConnectionContext context, IRequestHandler handler, int maxRequestBytes, ILogger logger, TimeProvider time,
        SslServerContext? tls = null, int maxUnauthenticatedBytes = int.MaxValue)
    {
        _tls = tls;
        _maxUnauthenticatedBytes = maxUnauthenticatedBytes;
        _time = time;
        _lastActivity = time.GetTimestamp();
        _socket = socket;
        Context = context;
        _handler = handler;
        _maxRequestBytes = maxRequestBytes;
        _logger = logger;
    }

    public ConnectionContext Context { get; }

    /// <summary>The node's instruments: request counts and times, authentication outcomes. Null: not measured.</summary>
    public Samsa.Broker.Metrics.BrokerMetrics? Metrics { get; init; }

    /// <summary>Called once when the connection ends, before its socket is closed (the server releases its quota slot).</summary>
    public Action? Closing { get; init; }

    /// <summary>
    /// Milliseconds since bytes last arrived or a response was sent, for <c>connections.max.idle.ms</c>; 0 while a
    /// request is being handled, so a long-poll fetch or a rebalance never counts as idle.
    /// </summary>
    /// <param name="now">A timestamp of the server's <see cref="TimeProvider"/>.</param>
    public long IdleMilliseconds(long now) =>
        Volatile.Read(ref _busy) != 0 ? 0 : (long)_time.GetElapsedTime(Volatile.Read(ref _lastActivity), now).TotalMilliseconds;

    /// <summary>Closes the socket, which ends a pending read; used at shutdown.</summary>
    public void Abort()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed by the peer or by the read loop.
        }
        _socket.Dispose();
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        NetworkStream owned;
        try
        {
            owned = new NetworkStream(_socket, ownsSocket: true);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // Aborted (the server stopping) before this task first ran: nothing was read, so nothing is owed; the
            // server's dispose awaits this task and must not fail for it.
            NetworkLog.ConnectionClosed(_logger, Context.ConnectionId);
            Closing?.Invoke();
            return;
        }
        await using var network = owned;
        Stream stream;
        try
        {
            stream = await OpenTransportAsync(network, cancellationToken);
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException or ArgumentException or OperationCanceledException)
        {
            // Kafka logs a failed TLS handshake as a failed authentication, once, and closes.
            NetworkLog.TlsHandshakeFailed(_logger, Context.ConnectionId, Context.RemoteEndPoint, e.InnerException?.Message ?? e.Message);
            Metrics?.RecordAuthentication(Context.ListenerName, succeeded: false);
            Closing?.Invoke();
            return;
        }
        await using var transport = stream == network ? null : stream;
        // Produce requests run to hundreds of KiB: read in 64 KiB buffers, not the default 4 KiB (16x fewer recv calls).
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        try
        {
            await ReadLoopAsync(reader, writer, cancellationToken);
        }
        catch (Exception e) when (e is ProtocolException or InvalidRequestException or FrameException)
        {
            NetworkLog.ClosingOnClientError(_logger, Context.ConnectionId, Context.RemoteEndPoint, e.Message);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went away or the server is stopping: nothing to report beyond debug.
            NetworkLog.ConnectionClosed(_logger, Context.ConnectionId);
        }
        catch (Exception e)
        {
            NetworkLog.ClosingOnServerError(_logger, Context.ConnectionId, e);
        }
        finally
        {
            await reader.CompleteAsync();
            try
            {
                await writer.CompleteAsync();
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // A response still buffered when the connection was aborted (a parked follower fetch as the server
                // stops, say) has nowhere to go.
            }
            _sendArgs?.Dispose();
            // Before the socket closes: a client that sees the close can count on the slot being free.
            Closing?.Invoke();
        }
    }

    /// <summary>
    /// The transport under the frame reader: the socket itself, or TLS over it (<see cref="System.Net.Security.SslStream"/>, the
    /// handshake bounded by ten seconds). Zero-copy sends need the socket's own bytes, so TLS turns them off, as it
    /// does in Kafka.
    /// </summary>
    private async ValueTask<Stream> OpenTransportAsync(NetworkStream network, CancellationToken cancellationToken)
    {
        if (_tls is null)
        {
            return network;
        }
        _zeroCopy = false;
        var ssl = new System.Net.Security.SslStream(network, leaveInnerStreamOpen: true);
        try
        {
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            handshake.CancelAfter(TimeSpan.FromSeconds(10));
            await ssl.AuthenticateAsServerAsync(_tls.Options, handshake.Token);
            if (Context.SecurityProtocol == Samsa.Broker.Config.SecurityProtocol.Ssl)
            {
                Context.Principal = _tls.PrincipalOf(ssl.RemoteCertificate);
            }
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }

    private async Task ReadLoopAsync(PipeReader reader, PipeWriter writer, CancellationToken cancellationToken)
    {
        while (true)
        {
            // The rest of a frame whose size is known is read in one wait rather than one loop turn per arrival: over
            // TLS each arrival is one record, as small as a client writes it (librdkafka: about one message).
            var result = _pendingFrameBytes > 0
                ? await reader.ReadAtLeastAsync(_pendingFrameBytes, cancellationToken)
                : await reader.ReadAsync(cancellationToken);
            _pendingFrameBytes = 0;
            var buffer = result.Buffer;
            Volatile.Write(ref _lastActivity, _time.GetTimestamp());
            try
            {
                while (TryTakeFrame(ref buffer, out var frame))
                {
                    // Kafka's request clock starts when the whole frame is read; as Kafka's muted channel reads the next
                    // request only after the previous response is out, so the clock starts when this connection takes it.
                    var taken = System.Diagnostics.Stopwatch.GetTimestamp();
                    Volatile.Write(ref _busy, 1);
                    try
                    {
                        if (Context.Authentication is { ExpectsRawToken: true })
                        {
                            await HandleRawTokenAsync(frame, writer, cancellationToken);
                        }
                        else
                        {
                            await HandleFrameAsync(frame, taken, writer, cancellationToken);
                        }
                        // KIP-219: the throttled answer is out; read nothing more until the quota allows. Still busy,
                        // so the idle sweep leaves a muted connection alone.
                        if (Context.TakeThrottle(out var throttledBy) is > 0 and var throttleMs)
                        {
                            throttledBy?.Enter();
                            try
                            {
                                await Task.Delay(TimeSpan.FromMilliseconds(throttleMs), _time, cancellationToken);
                            }
                            finally
                            {
                                throttledBy?.Exit();
                            }
                        }
                    }
                    finally
                    {
                        Volatile.Write(ref _lastActivity, _time.GetTimestamp());
                        Volatile.Write(ref _busy, 0);
                    }
                    if (Context.CloseAfterResponse)
                    {
                        NetworkLog.ConnectionClosed(_logger, Context.ConnectionId);
                        return;
                    }
                }
            }
            finally
            {
                // Also on error, so the reader is left consistent before it is completed.
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            if (result.IsCompleted || result.IsCanceled)
            {
                if (!buffer.IsEmpty)
                {
                    throw new FrameException($"Connection closed with a truncated frame ({buffer.Length} bytes of an incomplete request)");
                }
                NetworkLog.ConnectionClosed(_logger, Context.ConnectionId);
                return;
            }
        }
    }

    /// <summary>
    /// Takes one whole frame's payload off the front of <paramref name="buffer"/>, or returns false when the frame
    /// is incomplete. Throws when the size prefix itself is invalid, before the payload is waited for.
    /// </summary>
    private bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        var sequenceReader = new SequenceReader<byte>(buffer);
        if (!sequenceReader.TryReadBigEndian(out int size))
        {
            return false;
        }
        if (size < 0)
        {
            throw new FrameException($"Invalid receive (size = {size})");
        }
        if (size > _maxRequestBytes)
        {
            throw new FrameException($"Invalid receive (size = {size} larger than {_maxRequestBytes} bytes allowed by socket.request.max.bytes)");
        }
        if (size > _maxUnauthenticatedBytes && Context.Authentication is { IsComplete: false })
        {
            throw new FrameException($"Invalid SASL receive (size = {size} larger than {_maxUnauthenticatedBytes} bytes allowed by sasl.server.max.receive.size)");
        }
        if (buffer.Length - SizePrefixLength < size)
        {
            // At most 256 KiB beyond what has arrived, so no read waits for (or reserves room for) a claimed size at once.
            _pendingFrameBytes = (int)Math.Min(SizePrefixLength + (long)size, buffer.Length + (256 * 1024));
            return false;
        }
        frame = buffer.Slice(SizePrefixLength, size);
        buffer = buffer.Slice(frame.End);
        return true;
    }

    /// <summary>
    /// Handles one request and sends its answer, timed for Kafka's request metrics (Stopwatch ticks: these measure
    /// the machine): RequestQueueTimeMs from <paramref name="taken"/> (the frame fully read) to the handler starting
    /// (Samsa has no request queue, so this is the frame's copy out of the pipe), RemoteTimeMs the handler's waits on
    /// others (<see cref="ConnectionContext.AddRemoteTime"/>), LocalTimeMs the rest of the handler's time,
    /// ResponseSendTimeMs writing the response, and TotalTimeMs their sum, to the response's last byte handed to the socket.
    /// </summary>
    private async ValueTask HandleFrameAsync(ReadOnlySequence<byte> frame, long taken, PipeWriter writer, CancellationToken cancellationToken)
    {
        var length = (int)frame.Length;
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        IResponseFrame? response;
        var header = -1; // api key and version, for the request metrics
        long handling;
        try
        {
            frame.CopyTo(rented);
            header = length >= 4 ? BinaryPrimitives.ReadInt32BigEndian(rented) : -1;
            Context.ResetRemoteTime();
            handling = System.Diagnostics.Stopwatch.GetTimestamp();
            response = await _handler.HandleAsync(Context, rented.AsMemory(0, length), cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        var ready = System.Diagnostics.Stopwatch.GetTimestamp();
        if (response is null)
        {
            RecordRequest(header, taken, handling, ready);
            return;
        }
        if (response.ExternalBytes > 0 && _zeroCopy)
        {
            try
            {
                // Every earlier response was flushed before this one was handled, so the socket is ours to write.
                await SendWithFilesAsync(response);
            }
            finally
            {
                (response as IDisposable)?.Dispose();
            }
            RecordRequest(header, taken, handling, ready);
            return;
        }
        try
        {
            var size = response.Size;
            var span = writer.GetSpan(SizePrefixLength + size);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(span, size);
            response.Write(span.Slice(SizePrefixLength, size));
            writer.Advance(SizePrefixLength + size);
        }
        finally
        {
            // A response may hold pooled buffers (fetched records); they go back once its bytes are in the pipe.
            (response as IDisposable)?.Dispose();
        }
        var flush = await writer.FlushAsync(cancellationToken);
        if (flush.IsCompleted)
        {
            throw new IOException("Peer stopped reading responses");
        }
        RecordRequest(header, taken, handling, ready);
    }

    /// <param name="header">The request's api key (high 16 bits) and version (low 16 bits).</param>
    /// <param name="taken">When the frame was fully read.</param>
    /// <param name="handling">When the handler started.</param>
    /// <param name="ready">When the handler returned (the response ready to send, or none for acks=0).</param>
    private void RecordRequest(int header, long taken, long handling, long ready)
    {
        if (Metrics is { } metrics && header >= 0)
        {
            var ended = System.Diagnostics.Stopwatch.GetTimestamp();
            var remote = Math.Clamp(Context.RemoteTicks, 0, ready - handling);
            metrics.RecordRequest((short)(header >> 16), (short)header, new RequestTimes(handling - taken, ready - handling - remote, remote, ended - ready),
                Context.FetchFromFollower);
        }
    }

    /// <summary>
    /// Kafka's legacy framing after SaslHandshake v0: the frame is a bare SASL token and the answer a bare challenge.
    /// A failed exchange gets no answer: the connection closes after <c>connection.failed.authentication.delay.ms</c>.
    /// </summary>
    private async ValueTask HandleRawTokenAsync(ReadOnlySequence<byte> frame, PipeWriter writer, CancellationToken cancellationToken)
    {
        var authentication = Context.Authentication!;
        byte[] challenge;
        try
        {
            challenge = authentication.Authenticate(frame.ToArray());
        }
        catch (Exception e) when (e is Samsa.Broker.Security.Sasl.SaslAuthenticationException or InvalidOperationException)
        {
            NetworkLog.RawSaslFailed(_logger, Context.ConnectionId, Context.RemoteEndPoint, e.Message);
            Metrics?.RecordAuthentication(Context.ListenerName, succeeded: false);
            Context.CloseAfterResponse = true;
            await Task.Delay(authentication.FailedAuthenticationDelay, authentication.Time, cancellationToken);
            return;
        }
        if (authentication.IsComplete)
        {
            Context.Principal = authentication.Principal!;
            Metrics?.RecordAuthentication(Context.ListenerName, succeeded: true);
        }
        var span = writer.GetSpan(SizePrefixLength + challenge.Length);
        BinaryPrimitives.WriteInt32BigEndian(span, challenge.Length);
        challenge.CopyTo(span[SizePrefixLength..]);
        writer.Advance(SizePrefixLength + challenge.Length);
        await writer.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Writes the frame's own bytes into one pooled buffer, leaving the file-backed records out, then sends the
    /// pieces and the file regions in order. Nothing of the records is read into memory.
    /// </summary>
    private async ValueTask SendWithFilesAsync(IResponseFrame response)
    {
        var size = response.Size;
        var written = SizePrefixLength + size - response.ExternalBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(written);
        try
        {
            _external.Clear();
            BinaryPrimitives.WriteInt32BigEndian(buffer, size);
            response.Write(buffer.AsSpan(SizePrefixLength, written - SizePrefixLength), _external);
            var elements = new SendPacketsElement[(2 * _external.Count) + 1];
            var count = 0;
            var position = 0;
            var external = 0;
            foreach (var slice in _external)
            {
                var end = SizePrefixLength + slice.Position;
                elements[count++] = new SendPacketsElement(buffer.AsMemory(position, end - position));
                elements[count++] = slice.Source is FileRegionRecords file
                    ? new SendPacketsElement(StreamFor(file.Region.Handle), file.Region.Position + slice.Start, slice.Length, endOfPacket: false)
                    : new SendPacketsElement(slice.Source.Memory.Slice(slice.Start, slice.Length));
                position = end;
                external += slice.Length;
            }
            if (external != response.ExternalBytes)
            {
                throw new InvalidOperationException($"Response frame left out {external} record bytes; {response.ExternalBytes} were expected");
            }
            elements[count++] = new SendPacketsElement(buffer.AsMemory(position, written - position), endOfPacket: true);
            await SendPacketsAsync(elements);
        }
        finally
        {
            _external.Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static FileStream StreamFor(SafeFileHandle handle) => s_fileStreams.GetValue(handle, static h =>
    {
        var stream = new FileStream(h, FileAccess.Read, bufferSize: 0, isAsync: true);
        GC.SuppressFinalize(stream);
        return stream;
    });

    private async ValueTask SendPacketsAsync(SendPacketsElement[] elements)
    {
        if (_sendArgs is null)
        {
            _sendArgs = new SocketAsyncEventArgs();
            _sendArgs.Completed += (_, args) => _sendDone!.TrySetResult(args.SocketError);
        }
        var done = new TaskCompletionSource<SocketError>(TaskCreationOptions.RunContinuationsAsynchronously);
        _sendDone = done;
        _sendArgs.SendPacketsElements = elements;
        if (!_socket.SendPacketsAsync(_sendArgs))
        {
            done.TrySetResult(_sendArgs.SocketError);
        }
        // Cancellation needs no hook: stopping the server aborts the socket, which fails the send.
        var error = await done.Task;
        _sendArgs.SendPacketsElements = null;
        if (error != SocketError.Success)
        {
            throw new SocketException((int)error);
        }
    }
}

/// <summary>A frame that cannot be read: negative or oversized length, or bytes cut off mid-frame.</summary>
internal sealed class FrameException(string message) : Exception(message);
