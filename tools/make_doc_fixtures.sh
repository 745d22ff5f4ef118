#!/usr/bin/env bash
# Regenerates tests/fixtures/docs/: small real documents of every type the knowledge-base parsers
# read (Chinese and English content), plus hostile files. Made with Debian tools:
#   pandoc (DOCX, PPTX, HTML from a Markdown source), python3-cairo + fonts-wqy-microhei (PDF with
#   a CJK font, and a scanned page without a text layer), Python's email/mailbox/zipfile/codecs
#   modules (mail, XLSX written by hand as OOXML, text in legacy encodings, zip bombs).
#   apt-get install -y --no-install-recommends pandoc python3-cairo fonts-wqy-microhei
# Output is reproducible: dates, ZIP timestamps and MIME boundaries are fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=tests/fixtures/docs
mkdir -p "$OUT"
PY=/usr/bin/python3   # Debian's python3 (python3-cairo lives there)

# ---- Markdown source (also a fixture) and pandoc conversions ----------------------------------
cat > "$OUT/handbook.md" <<'MD'
---
title: 数据保护合规手册
author: 法务部 Legal Department
date: 2024-03-01
---

# 第一章 总则

为了规范个人信息处理活动，制定本手册。This handbook governs personal data processing.

## 1.1 适用范围

- 客户数据
- 员工数据
    - 薪酬记录
    - 考勤记录
- Supplier contacts

## 1.2 Retention periods

| 数据类别 | 保存期限 | Owner |
|----------|----------|-------|
| 合同 | 10 年 | Legal |
| Invoices | 7 years | Finance |

# 第二章 Security Measures

1. Encrypt data at rest.
2. 定期审计访问日志。

> 注意：违反本手册将被追究责任。
MD
SOURCE_DATE_EPOCH=1709251200 pandoc "$OUT/handbook.md" -o "$OUT/handbook.docx"
SOURCE_DATE_EPOCH=1709251200 pandoc "$OUT/handbook.md" -t pptx --slide-level=2 -o "$OUT/handbook.pptx"
printf '# 条款\n\n合同自签署之日起生效。[^1] Termination requires notice.[^2]\n\n[^1]: 依据《民法典》第五百零二条。\n\n[^2]: Thirty days in writing.\n' > "$OUT/footnotes.md"
SOURCE_DATE_EPOCH=1709251200 pandoc "$OUT/footnotes.md" -o "$OUT/footnotes.docx"
printf -- '---\ntitle: 季度汇报\n---\n\n## 业绩 Results\n\n- 收入增长 12%%\n\n::: notes\n讲者备注：强调华东区的贡献。Mention the East China region.\n:::\n\n## 下一步\n\n- Hire two engineers\n' > "$OUT/slides.md"
SOURCE_DATE_EPOCH=1709251200 pandoc "$OUT/slides.md" -t pptx -o "$OUT/slides.pptx"
pandoc "$OUT/handbook.md" -s -t html5 --metadata pagetitle=数据保护合规手册 -o "$OUT/handbook.html"

# ---- A minimal PDF written by hand (no xref table: readers rebuild it), base-14 font -----------
printf '%%PDF-1.1\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>endobj\n4 0 obj<</Length 44>>stream\nBT /F1 24 Tf 20 100 Td (Hello PDF) Tj ET\nendstream endobj\n5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\ntrailer<</Root 1 0 R>>\n%%%%EOF\n' > "$OUT/minimal-en.pdf"

# ---- Everything else from Python ---------------------------------------------------------------
"$PY" - "$OUT" <<'PYEOF'
import sys, os, io, zipfile, mailbox, email.charset
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.header import Header
from email import encoders
import cairo

out = sys.argv[1]
# Fixed timestamps and MIME boundaries keep the output byte-for-byte reproducible.
_writestr = zipfile.ZipFile.writestr
def _fixed_writestr(self, name, data, *args, **kwargs):
    if isinstance(name, str):
        name = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 0, 0, 0))
        name.compress_type = self.compression
    return _writestr(self, name, data, *args, **kwargs)
zipfile.ZipFile.writestr = _fixed_writestr
# pandoc stamps the build time on ZIP entries: rewrite its containers with the fixed timestamp.
for name in ('handbook.docx', 'handbook.pptx', 'footnotes.docx', 'slides.pptx'):
    path = os.path.join(out, name)
    with zipfile.ZipFile(path) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for member, data in members:
            z.writestr(member, data)
def w(name, data):
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)

# Text in many encodings (Python's codecs are the reference encoders).
zh = '中华人民共和国个人信息保护法\n\n第一条 为了保护个人信息权益，规范个人信息处理活动，促进个人信息合理利用，根据宪法，制定本法。\n'
w('law-gb18030.txt', zh.encode('gb18030'))
w('law-gbk-short.txt', '合同条款第一条'.encode('gbk'))
w('law-big5.txt', '中華民國個人資料保護法\n\n第一條 為規範個人資料之蒐集、處理及利用，以避免人格權受侵害，並促進個人資料之合理利用，特制定本法。\n'.encode('big5'))
w('law-utf16le.txt', b'\xff\xfe' + zh.encode('utf-16-le'))
w('law-utf16be.txt', b'\xfe\xff' + zh.encode('utf-16-be'))
w('law-utf8-bom.txt', b'\xef\xbb\xbf' + zh.encode('utf-8'))
w('latin1.txt', 'Café crème brûlée à la carte, naïve façade.\n'.encode('latin-1'))

# HTML with noise, declared GBK charset.
html = '''<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset=gbk">
<title>公司通知 Notice</title><style>body { color: red; }</style>
<script>var x = "不应出现";</script></head>
<body><nav><a href="/">首页</a> | <a href="/about">关于</a></nav>
<h1>年度体检通知</h1>
<p>各位同事：<b>体检</b>将于 <i>5 月 20 日</i>举行。<br>请准时参加。</p>
<h2>Schedule</h2>
<ul><li>Morning: blood test<ul><li>空腹</li></ul></li><li>Afternoon: X-ray</li></ul>
<table><tr><th>部门</th><th>时间</th></tr><tr><td>法务部</td><td>09:00</td></tr></table>
<blockquote>如有疑问请联系人事部。</blockquote>
<pre>Room 301
  Building A</pre>
</body></html>'''
w('notice-gbk.html', html.encode('gbk'))

# CSV (quoted fields, embedded newline and delimiter) and a semicolon variant.
w('contracts.csv', '合同编号,客户,金额,备注\r\nC-001,"北京科技有限公司",120000,"含税, 分两期"\r\nC-002,Acme Corp,98000.50,"multi\r\nline"\r\n'.encode('utf-8'))
w('semicolon.csv', b'name;city;score\nAlice;Paris;90\nBob;"Lyon; Rhone";85\n')

# JSON
w('config.json', '{"company": "深蓝科技", "departments": [{"name": "法务部", "head": "张三"}, {"name": "Finance", "budget": 1.5e6}], "active": true, "notes": null}'.encode('utf-8'))

# XLSX written by hand (SpreadsheetML parts per ECMA-376).
def xlsx(path, sheets, shared):
    ct = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          + ''.join('<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' % (i + 1) for i in range(len(sheets)))
          + '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
          '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
          '</Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            '</Relationships>')
    wb = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
          + ''.join('<sheet name="%s" sheetId="%d" r:id="rId%d"/>' % (name, i + 1, i + 1) for i, (name, _) in enumerate(sheets))
          + '</sheets></workbook>')
    wbrels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              + ''.join('<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>' % (i + 1, i + 1) for i in range(len(sheets)))
              + '<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>' % (len(sheets) + 1)
              + '<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>' % (len(sheets) + 2)
              + '</Relationships>')
    sst = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (len(shared), len(shared))
           + ''.join('<si><t>%s</t></si>' % s for s in shared) + '</sst>')
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('[Content_Types].xml', ct)
        z.writestr('_rels/.rels', rels)
        z.writestr('xl/workbook.xml', wb)
        z.writestr('xl/_rels/workbook.xml.rels', wbrels)
        z.writestr('xl/sharedStrings.xml', sst)
        # Cell styles: 0 general, 1 built-in date format 14, 2 a custom date-time format.
        z.writestr('xl/styles.xml', '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                   '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/></numFmts>'
                   '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
                   '<xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>')
        for i, (_, rows) in enumerate(sheets):
            z.writestr('xl/worksheets/sheet%d.xml' % (i + 1),
                       '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                       '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
                       + rows + '</sheetData></worksheet>')

shared = ['产品', '数量', '单价', '笔记本电脑', '显示器', 'Keyboard', '到货日期']
sheet1 = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>6</v></c></row>'
          '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2"><v>5</v></c><c r="C2"><v>6999.5</v></c><c r="D2" s="1"><v>45352</v></c></row>'
          '<row r="3"><c r="A3" t="s"><v>4</v></c><c r="C3"><v>1299</v></c><c r="D3" s="2"><v>45352.395833333336</v></c></row>'
          '<row r="5"><c r="A5" t="s"><v>5</v></c><c r="B5"><v>12</v></c><c r="C5" t="inlineStr"><is><t>待定</t></is></c><c r="D5" t="b"><v>1</v></c></row>')
sheet2 = ('<row r="1"><c r="A1" t="inlineStr"><is><t>季度</t></is></c><c r="B1" t="inlineStr"><is><t>Revenue</t></is></c></row>'
          '<row r="2"><c r="A2" t="inlineStr"><is><t>Q1</t></is></c><c r="B2" t="str"><f>SUM(1,2)</f><v>3</v></c></row>')
xlsx(os.path.join(out, 'inventory.xlsx'), [('库存', sheet1), ('Summary', sheet2)], shared)

# PDF with a CJK font (cairo embeds font subsets with ToUnicode maps), 3 pages; page 3 is an image
# of text only (a "scanned" page).
pdf_path = os.path.join(out, 'report.pdf')
surface = cairo.PDFSurface(pdf_path, 595, 842)
surface.set_metadata(cairo.PDF_METADATA_TITLE, 'Annual Report 年度报告')
surface.set_metadata(cairo.PDF_METADATA_AUTHOR, 'Finance Team')
surface.set_metadata(cairo.PDF_METADATA_CREATE_DATE, '2024-03-01T00:00:00Z')
ctx = cairo.Context(surface)
ctx.select_font_face('WenQuanYi Micro Hei')
def lines(items, y=80):
    for size, text in items:
        ctx.set_font_size(size)
        ctx.move_to(60, y)
        ctx.show_text(text)
        y += size * 1.8
lines([(20, 'Annual Report 2023'), (12, 'Revenue grew by 12 percent.'), (12, 'Costs were stable.')])
ctx.show_page()
lines([(20, '第二章 财务摘要'), (12, '营业收入同比增长百分之十二。'), (12, '净利润为三千万元。')])
ctx.show_page()
img = cairo.ImageSurface(cairo.FORMAT_RGB24, 1190, 600)
ictx = cairo.Context(img)
ictx.set_source_rgb(1, 1, 1); ictx.paint(); ictx.set_source_rgb(0, 0, 0)
ictx.select_font_face('WenQuanYi Micro Hei'); ictx.set_font_size(64)
ictx.move_to(80, 200); ictx.show_text('扫描件 第三页')
ictx.move_to(80, 400); ictx.show_text('Scanned page three')
ctx.save(); ctx.scale(0.5, 0.5); ctx.set_source_surface(img, 0, 100); ctx.paint(); ctx.restore()
ctx.show_page()
surface.finish()
data = open(pdf_path, 'rb').read()
w('truncated.pdf', data[:len(data) // 3])

# E-mail: multipart/mixed with a multipart/alternative (UTF-8 quoted-printable text + GB2312 HTML),
# a CSV attachment with an RFC 2231 Chinese file name and a forwarded message.
qp = email.charset.Charset('utf-8'); qp.body_encoding = email.charset.QP
msg = MIMEMultipart('mixed', boundary='==outer-boundary==')
msg['From'] = str(Header('张三', 'gb2312')) + ' <zhangsan@example.cn>'
msg['To'] = 'Legal Team <legal@example.com>'
msg['Subject'] = Header('季度合同审查 Q3 contract review', 'gb2312')
msg['Date'] = 'Mon, 02 Oct 2023 09:30:00 +0800'
msg['Message-ID'] = '<q3-review@example.cn>'
alt = MIMEMultipart('alternative', boundary='==alt-boundary==')
plain = MIMEText('', 'plain')
plain.set_payload('各位好：\n\n请在周五前完成第三季度合同审查。Please finish the Q3 review by Friday.\n\n谢谢\n', qp)
alt.attach(plain)
alt.attach(MIMEText('<html><body><p>各位好：</p><p>请在周五前完成审查。</p></body></html>', 'html', 'gb2312'))
msg.attach(alt)
att = MIMEBase('text', 'csv')
att.set_payload('编号,金额\nC-001,120000\n'.encode('utf-8'))
encoders.encode_base64(att)
att.add_header('Content-Disposition', 'attachment', filename=('utf-8', '', '合同清单.csv'))
msg.attach(att)
inner = MIMEText('Forwarded body text.', 'plain', 'us-ascii')
inner['Subject'] = 'Original message'
inner['From'] = 'bob@example.com'
msg.attach(MIMEMessage(inner))
w('review.eml', msg.as_bytes())

# HTML-only mail in Big5.
html_only = MIMEText('<html><head><title>ignored</title></head><body><h1>會議紀要</h1><p>明天下午三點開會。</p></body></html>', 'html', 'big5')
html_only['From'] = 'li@example.tw'
html_only['Subject'] = Header('會議通知', 'big5')
html_only['Date'] = 'Tue, 03 Oct 2023 10:00:00 +0800'

box_path = os.path.join(out, 'inbox.mbox')
if os.path.exists(box_path): os.remove(box_path)
box = mailbox.mbox(box_path)
m1 = MIMEText('First message body.\n\nFrom the desk of Alice: line starting with From.\n', 'plain', 'us-ascii')
m1['From'] = 'alice@example.com'; m1['Subject'] = 'Hello'; m1['Date'] = 'Wed, 04 Oct 2023 08:00:00 +0000'
m1.set_unixfrom('From alice@example.com Wed Oct  4 08:00:00 2023')
box.add(m1)
m2 = html_only
m2.set_unixfrom('From li@example.tw Tue Oct  3 10:00:00 2023')
box.add(m2)
box.flush(); box.close()

# Hostile files.
def zip_with(path, members):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in members:
            z.writestr(name, data)
# A DOCX whose document.xml inflates ~1000x (5 MiB from ~5 KiB).
bomb_xml = b'<?xml version="1.0"?><w:document xmlns:w="x"><w:body>' + b' ' * (5 << 20) + b'</w:body></w:document>'
zip_with(os.path.join(out, 'bomb.docx'), [('[Content_Types].xml', '<Types/>'), ('word/document.xml', bomb_xml)])
# Archives nested 8 deep.
inner_bytes = b'innermost text\n'
name = 'level8.txt'
for level in range(8, 0, -1):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, inner_bytes)
    inner_bytes = buf.getvalue()
    name = 'level%d.zip' % level
w('nested.zip', inner_bytes)
# A legacy OLE2 (.doc) header.
w('legacy.doc', b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + bytes(504))
# A DOCX with malformed XML, and a truncated DOCX.
zip_with(os.path.join(out, 'malformed.docx'), [('word/document.xml', '<w:document xmlns:w="x"><w:body><w:p>unclosed')])
docx = open(os.path.join(out, 'handbook.docx'), 'rb').read()
w('truncated.docx', docx[:len(docx) // 2])
# Bytes that are no text in any encoding, with a .txt name.
w('binary.txt', bytes(range(256)) * 4)
# Invalid UTF-8 sprinkled in otherwise UTF-8 text (must come out as valid UTF-8).
w('bad-utf8.md', '# 标题\n\n正文'.encode('utf-8') + b'\xff\xfe\xc3' + ' 结束\n'.encode('utf-8'))
# An unterminated CSV quote.
w('unterminated.csv', b'a,b\n1,"never closed\n2,3\n')
PYEOF
ls -la "$OUT"
