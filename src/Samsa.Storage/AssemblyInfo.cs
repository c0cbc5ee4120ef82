using System.Runtime.CompilerServices;

// Tests check segment files and indexes against linear scans, which needs the internal segment types.
[assembly: InternalsVisibleTo("Samsa.Storage.Tests")]
