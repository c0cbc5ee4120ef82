using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Samsa.Testing.Tests;

/// <summary>
/// Loads the librdkafka that Confluent.Kafka ships for CentOS 8: its default native library needs libsasl2.so.3,
/// which Debian 12 lacks, and .NET would then quietly bind to an older system librdkafka. The version is checked so
/// these tests always judge with the client they name.
/// </summary>
internal static class Librdkafka
{
    public const string ExpectedVersion = "2.16.0";

    private static readonly Lazy<string> Loaded = new(() =>
    {
        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "centos8-librdkafka.so");
        NativeLibrary.SetDllImportResolver(typeof(Library).Assembly, (name, _, _) => name switch
        {
            "libdl" => NativeLibrary.Load("libdl.so.2"),
            _ when name.Contains("librdkafka", StringComparison.Ordinal) => NativeLibrary.Load(native),
            _ => IntPtr.Zero,
        });
        if (!Library.Load(native) && !Library.IsLoaded)
        {
            throw new InvalidOperationException($"could not load {native}");
        }
        return Library.VersionString;
    });

    public static void EnsureLoaded() => Assert.Equal(ExpectedVersion, Loaded.Value);
}
