using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Samsa.Protocol.Records;

namespace Samsa.Storage;

/// <summary>Why a scan stopped.</summary>
public enum ScanStop
{
    None,
    End,
    /// <summary>The file ends inside a batch (a write cut short by a crash).</summary>
    Partial,
    /// <summary>Bytes that are not a v2 batch header.</summary>
    Corrupt,
}

/// <summary>
/// Walks the batches of a segment file through a pooled read buffer (Kafka's <c>FileLogInputStream</c>).
/// Public for kafka-dump-log, which walks segments the way the log does.
/// Every size read from disk is checked against the end of the scanned range before anything is read or
/// allocated, so garbage in a file can stop a scan but never make it allocate more than the file holds.
/// </summary>
public sealed class BatchScanner : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _end;
    private readonly bool _wholeBatches;
    private byte[] _buffer;
    private long _bufferStart;
    private int _bufferLength;
    private long _next;

    public BatchScanner(SafeFileHandle handle, long start, long end, bool wholeBatches, int bufferSize = 64 * 1024)
    {
        _handle = handle;
        _next = start;
        _end = end;
        _wholeBatches = wholeBatches;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
        _bufferStart = start;
    }

    public long Position { get; private set; }
    public RecordBatchHeader Header { get; private set; }
    public ScanStop Stop { get; private set; }
    public string StopReason { get; private set; } = string.Empty;

    /// <summary>The whole current batch (only when scanning whole batches).</summary>
    public ReadOnlySpan<byte> Batch => _buffer.AsSpan((int)(Position - _bufferStart), Header.SizeInBytes);

    public bool MoveNext()
    {
        Position = _next;
        if (Position >= _end)
        {
            Stop = ScanStop.End;
            return false;
        }
        if (_end - Position < RecordBatch.HeaderSize)
        {
            return Fail(ScanStop.Partial, $"{_end - Position} bytes left, fewer than a batch header");
        }
        Ensure(RecordBatch.HeaderSize);
        var header = RecordBatchHeader.Read(_buffer.AsSpan((int)(Position - _bufferStart), RecordBatch.HeaderSize));
        if (header.Magic != RecordBatch.CurrentMagic)
        {
            return Fail(ScanStop.Corrupt, $"magic {header.Magic} is not 2");
        }
        if (header.BatchLength < RecordBatch.HeaderSize - RecordBatch.LogOverhead)
        {
            return Fail(ScanStop.Corrupt, $"batch length {header.BatchLength} is below the minimum");
        }
        if (header.SizeInBytes > _end - Position)
        {
            return Fail(ScanStop.Partial, $"batch of {header.SizeInBytes} bytes but only {_end - Position} remain");
        }
        if (_wholeBatches)
        {
            Ensure(header.SizeInBytes);
        }
        Header = header;
        _next = Position + header.SizeInBytes;
        return true;
    }

    private bool Fail(ScanStop stop, string reason)
    {
        Stop = stop;
        StopReason = reason;
        return false;
    }

    /// <summary>Makes [Position, Position + count) present in the buffer.</summary>
    private void Ensure(int count)
    {
        if (Position >= _bufferStart && Position + count <= _bufferStart + _bufferLength)
        {
            return;
        }
        if (count > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(count);
        }
        _bufferStart = Position;
        var want = (int)Math.Min(_buffer.Length, _end - Position);
        _bufferLength = 0;
        while (_bufferLength < want)
        {
            var read = RandomAccess.Read(_handle, _buffer.AsSpan(_bufferLength, want - _bufferLength), _bufferStart + _bufferLength);
            if (read == 0)
            {
                break;
            }
            _bufferLength += read;
        }
        if (_bufferLength < count)
        {
            throw new IOException($"File ended at {_bufferStart + _bufferLength} while reading {count} bytes at {Position}");
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
