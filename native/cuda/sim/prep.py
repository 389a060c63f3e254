import re, sys
src = open(sys.argv[1]).read()
src = src.replace("extern __shared__ float sm[];", "float* sm = reinterpret_cast<float*>(cusim::dyn);")
pat = re.compile(r'([A-Za-z_][\w:]*(?:<[^<>;]*>)?)<<<(.*?)>>>\((.*?)\);', re.S)
src, n = pat.subn(lambda m: "cusim::launch(cusim::cfg(%s), [&] { %s(%s); });" % (m.group(2), m.group(1), m.group(3)), src)
sys.stderr.write("%s: %d launches\n" % (sys.argv[1], n))
open(sys.argv[2], 'w').write(src)
