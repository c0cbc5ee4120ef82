namespace Samsa.Interop.Tests.Infrastructure;

/// <summary>Runs the repository's <c>bin/kafka-*.sh</c> wrappers as a user types them (import with <c>using static</c>).</summary>
public static class BinScripts
{
    /// <summary>A tool's run may build the CLI first (bin/samsa-run builds on first use), so it gets two minutes.</summary>
    public static readonly TimeSpan BinTimeout = TimeSpan.FromSeconds(120);

    public static Task<ProcessResult> Bin(string script, params string[] args) =>
        ExternalProcess.RunAsync(Path.Combine(RepoPaths.Root, "bin", script), args, BinTimeout);
}
