using System.Buffers;
using System.Runtime.CompilerServices;
using Samsa.Protocol.Records;
using Samsa.Storage;

namespace Samsa.Broker.Network;

/// <summary>
/// A fetch response's records as a region of a segment file. The connection sends the region with sendfile
/// (<see cref="KafkaConnection"/>); only a reader that asks for the bytes themselves (a test encoding the response
/// in memory, a logger) makes this copy them in, once, into a pooled buffer returned on dispose.
/// </summary>
public sealed class FileRegionRecords(FileRegion region) : ExternalRecords
{
    private byte[]? _loaded;
    private bool _disposed;

    public FileRegion Region { get; } = region;

    public override int Length => Region.Length;

    /// <summary>The base class would measure <see cref="GetSpan"/>, which reads the file; the length is known.</summary>
    public override Memory<byte> Memory => CreateMemory(Region.Length);

    public override Span<byte> GetSpan()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_loaded is null)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(Region.Length, 1));
            var read = Region.CopyTo(buffer.AsSpan(0, Region.Length));
            if (read != Region.Length)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                throw new IOException($"Read {read} of {Region.Length} bytes at {Region.Position} of {Region.Path}");
            }
            _loaded = buffer;
        }
        return _loaded.AsSpan(0, Region.Length);
    }

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        // Pinned arrays from the pool are not moved while the handle lives (GCHandle pins them).
        var span = GetSpan();
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(_loaded, System.Runtime.InteropServices.GCHandleType.Pinned);
        return new MemoryHandle(Unsafe.AsPointer(ref span[elementIndex]), handle, this);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        if (_loaded is not null)
        {
            ArrayPool<byte>.Shared.Return(_loaded);
            _loaded = null;
        }
    }
}
