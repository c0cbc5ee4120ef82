#!/usr/bin/env bash
# Issue 19: `dotnet pack src/Samsa.Testing` makes a package that installs into a fresh xunit project from a local feed
# (`dotnet add package --source`), and a test using it (PackageSample/OrdersTests.cs.txt) passes. Kept out of test.sh:
# packing and restoring a new project take minutes on the CI machine. Every other package comes from the local NuGet
# cache the repository's own restore filled (same versions as Directory.Packages.props).
# Usage: tests/Samsa.Testing.Tests/package-check.sh   (from anywhere; prints "package check passed" and exits 0)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
version_of() { sed -n "s/.*PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" "$root/Directory.Packages.props"; }

dotnet pack "$root/src/Samsa.Testing" -c Release -o "$work/feed" -nologo -v q
mkdir "$work/app"
cat > "$work/app/OrdersApp.Tests.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <IsPackable>false</IsPackable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Microsoft.NET.Test.Sdk" Version="$(version_of Microsoft.NET.Test.Sdk)" />
    <PackageReference Include="xunit" Version="$(version_of xunit)" />
    <PackageReference Include="xunit.runner.visualstudio" Version="$(version_of xunit.runner.visualstudio)" />
    <PackageReference Include="Confluent.Kafka" Version="$(version_of Confluent.Kafka)" />
  </ItemGroup>
</Project>
CSPROJ
cp "$root/tests/Samsa.Testing.Tests/PackageSample/OrdersTests.cs.txt" "$work/app/OrdersTests.cs"
cd "$work/app"
dotnet add package Samsa.Testing --source "$work/feed" --version "$(sed -n 's/.*<Version>\(.*\)<\/Version>.*/\1/p' "$root/src/Samsa.Testing/Samsa.Testing.csproj")"
grep -q 'Include="Samsa.Testing"' OrdersApp.Tests.csproj
dotnet test -nologo -v q --logger "console;verbosity=normal" | tee "$work/test.log"
grep -q "Passed OrdersTests.ProducedOrder_IsReadBack" "$work/test.log"
echo "package check passed"
