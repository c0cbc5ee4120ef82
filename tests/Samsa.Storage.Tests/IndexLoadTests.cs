using System.Buffers.Binary;

namespace Samsa.Storage.Tests;

/// <summary>Index files larger than one read chunk load whole (regression: a pooled read buffer whose size is not a multiple of the entry).</summary>
public class IndexLoadTests
{
    [Theory]
    [InlineData(10)]
    [InlineData(5_461)]
    [InlineData(5_462)]
    [InlineData(20_000)]
    public void TimeIndex_OfAnySize_LoadsEveryEntry(int entries)
    {
        var dir = Directory.CreateTempSubdirectory("samsa-index-").FullName;
        try
        {
            var path = Path.Combine(dir, "00000000000000000000.timeindex");
            var bytes = new byte[entries * 12];
            for (var i = 0; i < entries; i++)
            {
                BinaryPrimitives.WriteInt64BigEndian(bytes.AsSpan(i * 12), 1_000 + i);
                BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan((i * 12) + 8), i * 2);
            }
            File.WriteAllBytes(path, bytes);
            var index = new TimeIndex(path, 0, 10 * 1024 * 1024);
            Assert.True(index.Load(10 * 1024 * 1024));
            Assert.Equal(entries, index.Count);
            Assert.Equal(new TimestampOffset(1_000 + entries - 1, (entries - 1) * 2), index.LastEntry);
            Assert.Equal(new TimestampOffset(1_000 + (entries / 2), entries / 2 * 2), index.Lookup(1_000 + (entries / 2)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
