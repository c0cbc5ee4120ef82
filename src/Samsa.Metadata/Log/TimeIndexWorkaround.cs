namespace Samsa.Metadata.Log;

/// <summary>
/// Guards against a storage-engine defect (reported to the storage branch): <c>IndexFile.Load</c> reads in chunks
/// sized by the pooled buffer it rents, which for 12-byte time index entries is not a multiple of the entry size
/// once the file exceeds 64 KiB, and throws. After an unclean shutdown every active segment's time index is
/// still preallocated to <c>segment.index.bytes</c>, so the log would not open. Time indexes that large are
/// removed before opening; the storage engine rebuilds a missing index from the log.
/// </summary>
public static class TimeIndexWorkaround
{
    private const long SafeLength = 64 * 1024 - (64 * 1024 % 12);

    public static void Apply(string partitionDirectory)
    {
        if (!Directory.Exists(partitionDirectory))
        {
            return;
        }
        foreach (var file in Directory.EnumerateFiles(partitionDirectory, "*.timeindex"))
        {
            if (new FileInfo(file).Length > SafeLength)
            {
                File.Delete(file);
            }
        }
    }
}
